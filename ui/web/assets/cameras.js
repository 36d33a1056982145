// Vakt's web app: the cameras' live view (WHEP over WebRTC), as a grid, one
// camera full screen, and on the alarm screen the cameras of the zones that
// triggered. A view ends (DELETE) when its page is left or hidden.
"use strict";

Object.assign(T.en, {
  nav_cameras: "Cameras", cameras: "Cameras", no_cameras: "No cameras are set up.",
  cam_idle: "on demand", cam_connecting: "connecting", cam_streaming: "streaming", cam_stalled: "no video", cam_off: "off",
  live_of: "Live view: {name}", view_full: "Full screen", all_cameras: "All cameras", alarm_cameras: "Cameras at the alarm",
  v_connecting: "Connecting…", v_live: "Live", v_failed: "No picture: {why}", retry: "Try again",
  v_stalled: "No video from {name} since {t}", v_stalled_none: "No video from {name}", v_reconnecting: "Reconnecting…",
  ev_camera_view: "camera watched", scope_cameras: "Cameras only",
  sound: "Sound", sound_of: "Sound: {name}",
});
Object.assign(T.sv, {
  nav_cameras: "Kameror", cameras: "Kameror", no_cameras: "Inga kameror är inställda.",
  cam_idle: "vid behov", cam_connecting: "ansluter", cam_streaming: "sänder", cam_stalled: "ingen bild", cam_off: "av",
  live_of: "Direktbild: {name}", view_full: "Helskärm", all_cameras: "Alla kameror", alarm_cameras: "Kameror vid larmet",
  v_connecting: "Ansluter…", v_live: "Direkt", v_failed: "Ingen bild: {why}", retry: "Försök igen",
  v_stalled: "Ingen bild från {name} sedan {t}", v_stalled_none: "Ingen bild från {name}", v_reconnecting: "Ansluter igen…",
  ev_camera_view: "kamera visad", scope_cameras: "Bara kameror",
  sound: "Ljud", sound_of: "Ljud: {name}",
});

// liveViews are the open views by their video element's id: {pc, location,
// group ("grid", "full" or "alarm"), camera, watch (watchLive's), timer (a new
// session's wait: pc is null meanwhile)}.
const liveViews = new Map();
let cameraList = null; // the last GET /cameras
let alarmCams = "";    // the cameras shown on the alarm screen, joined

const mayWatch = () => !!me && !kiosk && me.user.role !== "guest";

async function loadCameraList() {
  cameraList = await api("GET", "/cameras");
  return cameraList;
}

// waitGathering waits (at most 2 s) until the browser has its candidates: the
// offer then carries them (no trickling needed).
function waitGathering(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(done, 2000);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") { clearTimeout(timer); done(); }
    });
  });
}

// showStalled says over the video that its picture is not live, and since when:
// the last picture's time (since, or an earlier session's, kept in
// data-since), if there was one. live clears it.
function showStalled(video, name, since, live) {
  const box = video.parentElement && video.parentElement.querySelector(".stalled");
  if (live) { delete video.dataset.since; delete video.dataset.stalled; }
  else {
    video.dataset.stalled = name;
    if (since && !video.dataset.since) video.dataset.since = String(since.getTime());
  }
  if (!box) return;
  const at = video.dataset.since ? new Date(Number(video.dataset.since)).toLocaleTimeString(lang === "sv" ? "sv-SE" : "en-GB") : "";
  box.textContent = live ? "" : at ? t("v_stalled", { name, t: at }) : t("v_stalled_none", { name });
}

// retryView opens cam's view again after liveBackoff(tries), by itself: the
// camera came back, the hub restarted, the network returned.
function retryView(cam, video, note, group, tries) {
  closeView(video.id, true);
  note.textContent = t("v_reconnecting");
  const view = { pc: null, location: "", group, camera: cam.name, timer: 0 };
  view.timer = setTimeout(() => { if (liveViews.get(video.id) === view) openView(cam, video, note, group, tries + 1); }, liveBackoff(tries));
  liveViews.set(video.id, view);
}

// openView starts camera cam's live view in video (a WHEP session) and shows
// how it goes in note, and over the video while its picture is not live. A
// session that fails or shows nothing more is started again by itself (tries:
// sessions that failed without staying live for LIVE_STEADY_MS, in a row).
async function openView(cam, video, note, group, tries = 0) {
  closeView(video.id, true);
  const view = { pc: new RTCPeerConnection(), location: "", group, camera: cam.name };
  liveViews.set(video.id, view);
  const pc = view.pc;
  const failed = (text) => { note.textContent = text; note.parentElement.dataset.failed = "true"; };
  const mine = () => liveViews.get(video.id) === view;
  const again = () => retryView(cam, video, note, group, view.watch.steady() ? 0 : tries);
  delete note.parentElement.dataset.failed;
  note.textContent = t("v_connecting");
  view.watch = watchLive(pc, {
    live() { if (mine()) { note.textContent = t("v_live"); showStalled(video, cam.name, null, true); } },
    stall(since) { if (mine()) { note.textContent = ""; showStalled(video, cam.name, since); } },
    broken() { if (mine()) again(); },
  });
  pc.addTransceiver("video", { direction: "recvonly" });
  // The camera's audio, if it has any; the video stays muted (browsers block
  // autoplay with sound) until the sound button is pressed.
  pc.addTransceiver("audio", { direction: "recvonly" });
  pc.addEventListener("track", (e) => {
    let stream = e.streams[0];
    if (!stream) {
      stream = video.srcObject instanceof MediaStream ? video.srcObject : new MediaStream();
      stream.addTrack(e.track);
    }
    if (video.srcObject !== stream) video.srcObject = stream;
    const sound = video.parentElement && video.parentElement.querySelector("button.sound");
    if (e.track.kind === "audio" && sound) sound.hidden = false;
  });
  pc.addEventListener("connectionstatechange", () => {
    if (!mine() || pc.connectionState !== "failed") return;
    showStalled(video, cam.name, view.watch.last());
    again();
  });
  try {
    await pc.setLocalDescription(await pc.createOffer());
    await waitGathering(pc);
    if (liveViews.get(video.id) !== view) return; // left meanwhile
    const res = await fetch(cam.whep, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/sdp", "X-CSRF-Token": me.csrf }, body: pc.localDescription.sdp });
    const body = await res.text();
    if (res.status >= 500 && mine()) { again(); return; } // full, or the hub restarting
    if (res.status !== 201) throw new Error(res.status === 401 || res.status === 403 ? t("e_denied") : body.trim() || res.statusText);
    view.location = res.headers.get("Location") || "";
    if (liveViews.get(video.id) !== view) { endSession(view); return; }
    await pc.setRemoteDescription({ type: "answer", sdp: body });
  } catch (e) {
    if (!mine()) return;
    if (e instanceof TypeError) { again(); return; } // the hub cannot be reached
    failed(t("v_failed", { why: e.message || String(e) }));
    closeView(video.id);
  }
}

// endSession tells the hub the view ended, then closes the connection (the hub
// would otherwise see it closed first); keepalive lets the request go out while
// the page unloads.
function endSession(view) {
  clearTimeout(view.timer);
  if (view.watch) view.watch.stop();
  if (!view.pc) return;
  if (!view.location || !me) { view.pc.close(); return; }
  fetch(view.location, { method: "DELETE", credentials: "same-origin", keepalive: true, headers: { "X-CSRF-Token": me.csrf } })
    .catch(() => { /* the hub ends it when the connection goes */ })
    .finally(() => view.pc.close());
}

// closeView ends the view in video element id; unless again (a new session
// follows), the picture and what it said of the video go too.
function closeView(id, again) {
  const view = liveViews.get(id);
  if (!view) return;
  liveViews.delete(id);
  endSession(view);
  const video = $(id);
  if (!video || again) return;
  video.srcObject = null;
  showStalled(video, view.camera, null, true);
}

// leaveCameras ends the views that are not on the page shown now (show calls
// it with the view it shows; nothing: every view).
function leaveCameras(shown) {
  const keep = { cameras: "grid", camera: "full", home: "alarm" }[shown];
  for (const [id, v] of [...liveViews]) if (v.group !== keep) closeView(id);
  if (keep !== "alarm") alarmCams = "";
}

// cameraTile is one camera's live view: the video, its name and state, and
// how the view goes.
function cameraTile(cam, group, full) {
  const box = document.createElement(full ? "div" : "li");
  box.className = "camera" + (full ? " full" : "");
  box.dataset.camera = cam.name;
  const video = document.createElement("video");
  video.id = "video-" + group + "-" + cam.name;
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  video.setAttribute("aria-label", t("live_of", { name: cam.name }));
  const bar = document.createElement("div");
  bar.className = "camera-bar";
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = cam.name;
  const state = document.createElement("span");
  showState(state, cam.state);
  const note = document.createElement("span");
  note.className = "what";
  note.setAttribute("aria-live", "polite");
  bar.append(name, state, note);
  // Over the video while its picture is not live (empty otherwise).
  const stalled = document.createElement("div");
  stalled.className = "stalled";
  stalled.setAttribute("role", "status");
  const retry = document.createElement("button");
  retry.type = "button";
  retry.className = "retry";
  retry.textContent = t("retry");
  retry.setAttribute("aria-label", t("retry") + ": " + cam.name);
  retry.addEventListener("click", () => openView(cam, video, note, group));
  bar.append(retry, soundButton(video, cam.name));
  if (full) {
    const fs = document.createElement("button");
    fs.type = "button";
    fs.id = "camera-fullscreen";
    fs.textContent = t("view_full");
    fs.addEventListener("click", () => { if (box.requestFullscreen) box.requestFullscreen().catch(() => {}); });
    bar.append(fs);
  } else {
    const open = document.createElement("a");
    open.href = "#/cameras/" + encodeURIComponent(cam.name);
    open.textContent = t("view_full");
    open.setAttribute("aria-label", t("view_full") + ": " + cam.name);
    bar.append(open);
  }
  box.append(video, stalled, bar);
  openView(cam, video, note, group);
  return box;
}

// soundButton turns video's sound on and off; hidden until the view has an
// audio track.
function soundButton(video, name) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "sound";
  b.hidden = true;
  b.textContent = t("sound");
  b.setAttribute("aria-label", t("sound_of", { name }));
  b.setAttribute("aria-pressed", "false");
  b.addEventListener("click", () => {
    video.muted = !video.muted;
    b.setAttribute("aria-pressed", String(!video.muted));
    if (!video.muted) video.play().catch(() => {});
  });
  return b;
}

// showState shows a camera's state in its badge.
function showState(badge, state) {
  badge.className = "badge cam-state" + (state === "stalled" || state === "off" ? " bad" : "");
  badge.dataset.state = state;
  badge.textContent = t("cam_" + state);
}

// refreshStates updates the state of the cameras shown, every 5 s while a
// camera page is shown.
async function refreshStates() {
  if (document.hidden || !me || ($("view-cameras").hidden && $("view-camera").hidden)) return;
  let list;
  try { list = await loadCameraList(); } catch (e) { return; }
  for (const c of list) {
    for (const badge of document.querySelectorAll(`.camera[data-camera="${CSS.escape(c.name)}"] .cam-state`)) showState(badge, c.state);
  }
}

// loadCameras shows the grid of every camera's live view.
async function loadCameras() {
  const grid = $("cameras-grid");
  let list;
  try { list = await loadCameraList(); } catch (e) { say(errText(e), true); return; }
  if ($("view-cameras").hidden) return;
  leaveCameras("cameras");
  for (const [id, v] of [...liveViews]) if (v.group === "grid") closeView(id);
  grid.replaceChildren(...list.map((c) => cameraTile(c, "grid", false)));
  $("cameras-none").hidden = list.length > 0;
}

// loadCamera shows one camera's live view, large.
async function loadCamera(name) {
  let list;
  try { list = await loadCameraList(); } catch (e) { say(errText(e), true); return; }
  if ($("view-camera").hidden) return;
  const cam = list.find((c) => c.name === name);
  $("camera-title").textContent = cam ? cam.name : name;
  for (const [id, v] of [...liveViews]) if (v.group === "full") closeView(id);
  $("camera-one").replaceChildren(...(cam ? [cameraTile(cam, "full", true)] : []));
  if (!cam) say(t("no_cameras"), true);
}

// alarmCameras shows, during an alarm, the live view of the cameras linked to
// the zones that triggered (renderStatus calls it with every status).
async function alarmCameras(s) {
  const box = $("alarm-cameras");
  const zones = new Set(s.zones.filter((z) => z.alarms > 0).map((z) => z.id));
  if (s.alarm_zone) zones.add(s.alarm_zone);
  if (s.state !== "triggered" || !mayWatch() || $("view-home").hidden) {
    if (alarmCams) { for (const [id, v] of [...liveViews]) if (v.group === "alarm") closeView(id); }
    alarmCams = "";
    box.hidden = true;
    return;
  }
  const list = cameraList && alarmCams !== "" ? cameraList : await loadCameraList().catch(() => []);
  const cams = list.filter((c) => c.zones.some((z) => zones.has(z)));
  const key = cams.map((c) => c.name).join(",") || "-";
  if (key === alarmCams || status.state !== "triggered") return;
  alarmCams = key;
  for (const [id, v] of [...liveViews]) if (v.group === "alarm") closeView(id);
  $("alarm-cameras-list").replaceChildren(...cams.map((c) => cameraTile(c, "alarm", false)));
  box.hidden = cams.length === 0;
}

document.addEventListener("DOMContentLoaded", () => {
  // A hidden page shows no one anything: its views end, and start again when
  // it is shown.
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) { leaveCameras(""); return; }
    if (!$("view-cameras").hidden || !$("view-camera").hidden) route();
    else if (status) alarmCameras(status);
  });
  window.addEventListener("pagehide", () => leaveCameras(""));
  setInterval(refreshStates, 5000);
  // What a view says of its picture follows the language.
  $("lang").addEventListener("change", () => {
    for (const v of document.querySelectorAll(".camera video[data-stalled]")) showStalled(v, v.dataset.stalled);
  });
  // Back on Home during an alarm: its cameras at once, not at the next status.
  window.addEventListener("hashchange", () => { if (status) alarmCameras(status); });
});
