// Vakt's live view watch, for the web app and the operator page: whether a
// view's picture is live, by its own connection's statistics (frames decoded),
// so it covers the camera, the hub, the network and the browser alike.
"use strict";

// LIVE_STALL_MS is how long a view may go without a new picture before it is
// not live (three frame intervals for a camera slower than one a second).
const LIVE_STALL_MS = 3000;

// LIVE_STEADY_MS is how long a view must have stayed live for its next new
// session to wait only liveBackoff(0): views that end one another (one viewer's
// views of one camera beyond the hub's bound) back off instead of taking turns
// every second.
const LIVE_STEADY_MS = 30000;

// watchLive checks pc's video twice a second and calls on.live() when pictures
// decode (the first, and again after a stall), on.stall(since) when none has
// for LIVE_STALL_MS (since: the Date of the last picture, null for none yet),
// and on.broken() when packets go on arriving for as long without a picture,
// or when the hub ended the session (its DTLS transport closed: the hub
// stopped or restarted): that session shows nothing any more, a new one is
// needed. It returns {stop(), last(), steady()}: last is the Date of the
// newest picture (null for none), steady whether pictures came for
// LIVE_STEADY_MS on end.
function watchLive(pc, on) {
  let timer = 0, frames = 0, firstAt = 0, firstFrames = 0, lastAt = 0, liveFrom = 0, connectedAt = 0, packets = 0, busySince = 0, state = "";
  const tick = async () => {
    let video = null;
    try {
      (await pc.getStats()).forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "video") video = s; });
    } catch (e) { return; } // closed
    if (!timer || state === "broken") return; // stopped meanwhile, or done
    const now = Date.now();
    const ended = pc.getReceivers().some((r) => r.transport && (r.transport.state === "closed" || r.transport.state === "failed"));
    if (!connectedAt && pc.connectionState === "connected") connectedAt = now;
    const f = video ? video.framesDecoded || 0 : 0;
    const p = video ? video.packetsReceived || 0 : 0;
    const arriving = p > packets;
    packets = p;
    if (ended) {
      if (state !== "stalled") on.stall(lastAt ? new Date(lastAt) : null);
      state = "broken";
      on.broken();
      return;
    }
    if (f > frames) {
      if (!firstAt) { firstAt = now; firstFrames = f; }
      frames = f; lastAt = now; busySince = 0;
      if (state !== "live") { state = "live"; liveFrom = now; on.live(); }
      return;
    }
    const since = lastAt || connectedAt;
    const interval = frames > firstFrames ? (lastAt - firstAt) / (frames - firstFrames) : 0;
    if (!since || now - since < Math.max(LIVE_STALL_MS, 3 * interval)) return;
    if (state === "" || state === "live") { state = "stalled"; on.stall(lastAt ? new Date(lastAt) : null); }
    busySince = arriving ? busySince || now : 0;
    if (busySince && now - busySince >= LIVE_STALL_MS) { state = "broken"; on.broken(); }
  };
  timer = setInterval(tick, 500);
  return {
    stop() { clearInterval(timer); timer = 0; },
    last() { return lastAt ? new Date(lastAt) : null; },
    steady() { return liveFrom > 0 && lastAt - liveFrom >= LIVE_STEADY_MS; },
  };
}

// liveBackoff is the wait before a view's next session, after tries failed in
// a row: 1 s, 2, 4, … up to 30 s.
function liveBackoff(tries) { return Math.min(30, 2 ** tries) * 1000; }
