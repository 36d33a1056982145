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
  for (const pc of Object.values(views)) pc.close();
  for (const v of document.querySelectorAll("video, button.sound")) v.remove();
}

async function watch(name, url, fig) {
  const pc = new RTCPeerConnection();
  views[name] = pc;
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  const video = el("video");
  // Muted until the sound button is pressed: browsers block autoplay with sound.
  video.muted = true; video.autoplay = true; video.playsInline = true;
  const sound = el("button", "Sound");
  sound.type = "button"; sound.className = "sound"; sound.hidden = true;
  sound.setAttribute("aria-label", "Sound: " + name);
  sound.setAttribute("aria-pressed", "false");
  sound.onclick = () => {
    video.muted = !video.muted;
    sound.setAttribute("aria-pressed", String(!video.muted));
    if (!video.muted) video.play().catch(() => {});
  };
  pc.ontrack = (e) => {
    let stream = e.streams[0];
    if (!stream) {
      stream = video.srcObject instanceof MediaStream ? video.srcObject : new MediaStream();
      stream.addTrack(e.track);
    }
    if (video.srcObject !== stream) video.srcObject = stream;
    if (e.track.kind === "audio") sound.hidden = false;
  };
  fig.prepend(video, sound);
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {
    if (pc.iceGatheringState === "complete") return done();
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === "complete") done(); };
    setTimeout(done, 2000);
  });
  const res = await fetch(url, { method: "POST", headers: { ...auth, "Content-Type": "application/sdp" }, body: pc.localDescription.sdp });
  if (res.status === 401) return ended();
  if (res.status !== 201) { fig.querySelector("figcaption").textContent += " — no live view (" + res.status + ")"; return; }
  await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
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
      watch(cam, info.whep[cam], fig).catch((e) => { fig.querySelector("figcaption").textContent += " — " + e; });
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
