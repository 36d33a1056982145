// The operator page: the live view of the alarm's cameras (WHEP with the link's
// token as bearer) and the alarm's clips. The token is the page's own path.
"use strict";
const token = location.pathname.split("/")[2];
const base = "/operator/" + token + "/";
const auth = { Authorization: "Bearer " + token };
const views = {};

function el(tag, text) { const e = document.createElement(tag); if (text) e.textContent = text; return e; }

function ended() {
  document.getElementById("alarm").textContent = "This link has ended: the alarm was closed or its time is over.";
  document.getElementById("alarm").className = "ended";
  for (const [name, pc] of Object.entries(views)) { pc.close(); delete views[name]; }
  for (const v of document.querySelectorAll("video, button.sound, .stalled")) v.remove();
}

// watch shows camera name's live view in fig, says over the video while its
// picture is not live (since its last picture), and starts a new session by
// itself, after liveBackoff, when one fails or shows nothing more.
function watch(name, url, fig) {
  const video = el("video");
  // Muted until the sound button is pressed: browsers block autoplay with sound.
  video.muted = true; video.autoplay = true; video.playsInline = true;
  const stalled = el("div");
  stalled.className = "stalled";
  stalled.setAttribute("role", "status");
  const sound = el("button", "Sound");
  sound.type = "button"; sound.className = "sound"; sound.hidden = true;
  sound.setAttribute("aria-label", "Sound: " + name);
  sound.setAttribute("aria-pressed", "false");
  sound.onclick = () => {
    video.muted = !video.muted;
    sound.setAttribute("aria-pressed", String(!video.muted));
    if (!video.muted) video.play().catch(() => {});
  };
  fig.prepend(video, stalled, sound);
  let since = null, tries = 0;
  const show = (live, at) => {
    if (live) since = null;
    else if (at && !since) since = at;
    stalled.textContent = live ? "" : "No video from " + name + (since ? " since " + since.toLocaleTimeString("en-GB") : "");
    if (since) stalled.dataset.since = String(since.getTime());
    else delete stalled.dataset.since;
  };
  const again = (pc, w) => {
    w.stop();
    pc.close();
    if (views[name] !== pc) return; // the link ended
    if (w.steady()) tries = 0;
    setTimeout(() => { if (views[name] === pc) connect(); }, liveBackoff(tries++));
  };
  const connect = async () => {
    const pc = new RTCPeerConnection();
    views[name] = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    pc.ontrack = (e) => {
      let stream = e.streams[0];
      if (!stream) {
        stream = video.srcObject instanceof MediaStream ? video.srcObject : new MediaStream();
        stream.addTrack(e.track);
      }
      if (video.srcObject !== stream) video.srcObject = stream;
      if (e.track.kind === "audio") sound.hidden = false;
    };
    const w = watchLive(pc, { live() { show(true); }, stall(at) { show(false, at); }, broken() { again(pc, w); } });
    pc.onconnectionstatechange = () => { if (pc.connectionState === "failed") { show(false, w.last()); again(pc, w); } };
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise((done) => {
        if (pc.iceGatheringState === "complete") return done();
        pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === "complete") done(); };
        setTimeout(done, 2000);
      });
      const res = await fetch(url, { method: "POST", headers: { ...auth, "Content-Type": "application/sdp" }, body: pc.localDescription.sdp });
      if (res.status === 401) { w.stop(); return ended(); }
      if (res.status >= 500) return again(pc, w); // full, or the hub restarting
      if (res.status !== 201) { w.stop(); fig.querySelector("figcaption").textContent += " — no live view (" + res.status + ")"; return; }
      await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
    } catch (e) {
      again(pc, w); // the hub cannot be reached
    }
  };
  connect();
}

async function load(first) {
  const res = await fetch(base + "info");
  if (res.status === 401) return ended();
  const info = await res.json();
  document.getElementById("alarm").textContent = "Alarm in zone " + info.zone + " at " + new Date(info.time).toLocaleString() +
    ". This link works until " + new Date(info.until).toLocaleString() + " or until the alarm is closed.";
  if (first) {
    for (const cam of info.cameras) {
      const fig = el("figure");
      fig.append(el("figcaption", cam));
      document.getElementById("live").append(fig);
      watch(cam, info.whep[cam], fig);
    }
  }
  const clips = document.getElementById("clips");
  for (const c of info.clips) {
    if (clips.querySelector(`[data-url="${c.url}"]`)) continue;
    const fig = el("figure");
    fig.dataset.url = c.url;
    const v = el("video");
    v.controls = true; v.preload = "metadata"; v.src = base + c.url;
    fig.append(v, el("figcaption", c.camera + ", " + new Date(c.start).toLocaleTimeString() + "–" + new Date(c.end).toLocaleTimeString()));
    clips.append(fig);
  }
  if (!info.clips.length && !clips.children.length) clips.textContent = "No clip yet.";
  else if (clips.firstChild && clips.firstChild.nodeType === 3) clips.firstChild.remove();
}

load(true).catch(() => {});
setInterval(() => load(false).catch(() => {}), 15000);
