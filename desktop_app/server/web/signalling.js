// Signalling: the WebSocket to the server (reconnects with back-off; stops for good when
// the token no longer works) and the WebRTC negotiation over it: one offer, sent once ICE
// gathering is complete (the server has no trickle ICE), and the server's answer.

import { state } from "./state.js";
import { currentStatus, setStatus, toast } from "./status.js";

const token = new URLSearchParams(window.location.search).get("token") || "";
// What the server gets of the video: it needs the frame at the end of a turn, not motion.
// Every frame sent is decoded on the server's two cores, next to the language model, so
// the preview stays smooth here and 5 frames a second go out (at most 200 ms old at a turn).
const SEND_VIDEO = [{ maxFramerate: 5 }];
const WS_CLOSE_FULL = 4008;
const WS_CLOSE_TOKEN_ROTATED = 4003;

let ws = null;
let retries = 0;
// A media connection that fails while the WebSocket is open (a busy host answers ICE
// checks late) is renegotiated on the same session, which keeps its conversation and the
// turn in progress; only when that fails again does the page reconnect from scratch.
const PEER_RESTARTS = 2;
let peerRestarts = 0;
let stopped = false;
// Set by start(): onMessage(message), tracks() -> { audio, video } to send,
// onReplyAudio(stream) for the server's voice.
let handlers = null;

export function hasToken() {
  return !!token;
}

export function start(pageHandlers) {
  handlers = pageHandlers;
  connect();
}

export function send(message) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
}

// The status line from the socket and the peer connection (a denial or a full server stays).
export function updateStatus() {
  const open = ws && ws.readyState === WebSocket.OPEN;
  const pcState = state.pc ? state.pc.connectionState : "new";
  if (open && pcState === "connected") setStatus("connected");
  else if (open && pcState === "failed") setStatus("reconnecting", "Media connection failed");
  else if (!["denied", "full", "nomedia"].includes(currentStatus())) setStatus(retries ? "reconnecting" : "connecting");
}

export function setSession(sessionId) {
  state.sessionId = sessionId;
}

export function setAnswer(sdp) {
  if (state.pc) state.pc.setRemoteDescription({ type: "answer", sdp }).catch((err) => toast("Bad answer: " + err.message));
}

// Another microphone or video track, swapped in without renegotiating.
export async function replaceAudio(track) {
  if (state.audioSender) await state.audioSender.replaceTrack(track);
}

export async function replaceVideo(track) {
  if (state.videoSender) await state.videoSender.replaceTrack(track);
}

function connect() {
  if (stopped) return;
  updateStatus();
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${window.location.host}/ws?token=${encodeURIComponent(token)}`);
  ws = socket;
  socket.addEventListener("open", () => {
    startPeer().catch((err) => toast("Media connection failed: " + err.message));
  });
  socket.addEventListener("message", (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch (err) {
      return;
    }
    handlers.onMessage(message);
  });
  socket.addEventListener("close", (event) => {
    if (ws !== socket) return;
    closePeer();
    if (event.code === WS_CLOSE_FULL) {
      setStatus("full", "Server full: retrying…");
    } else if (event.code === WS_CLOSE_TOKEN_ROTATED) {
      setStatus("denied", "Access revoked: ask for the new link");
      stopped = true;
      return;
    }
    scheduleReconnect();
  });
}

async function scheduleReconnect() {
  retries += 1;
  updateStatus();
  // A closed socket says nothing about why: ask whether the token still works.
  try {
    const res = await fetch(`/?token=${encodeURIComponent(token)}`, { method: "HEAD", cache: "no-store" });
    if (res.status === 401 || res.status === 403) {
      setStatus("denied", "Access denied: ask for the new link");
      stopped = true;
      return;
    }
  } catch (err) {
    /* server down: keep trying */
  }
  const delay = Math.min(10000, 500 * 2 ** Math.min(retries, 5));
  setTimeout(connect, delay);
}

function closePeer() {
  if (state.pc) state.pc.close();
  state.pc = null;
  state.videoSender = null;
  state.audioSender = null;
  updateStatus();
}

async function startPeer() {
  closePeer();
  const pc = new RTCPeerConnection({ iceServers: [] });
  state.pc = pc;
  const tracks = handlers.tracks();
  state.audioSender = pc.addTransceiver(tracks.audio || "audio", { direction: "sendrecv" }).sender;
  state.videoSender = pc.addTransceiver(tracks.video || "video", { direction: "sendonly", sendEncodings: SEND_VIDEO }).sender;
  pc.addEventListener("track", (event) => {
    if (event.track.kind !== "audio") return;
    handlers.onReplyAudio(event.streams[0] || new MediaStream([event.track]));
  });
  pc.addEventListener("connectionstatechange", () => {
    if (state.pc !== pc) return;
    if (pc.connectionState === "connected") retries = peerRestarts = 0;
    if (pc.connectionState === "failed" && ws) {
      if (ws.readyState === WebSocket.OPEN && peerRestarts < PEER_RESTARTS) {
        peerRestarts += 1;
        const socket = ws;
        startPeer().catch(() => socket.close());
      } else ws.close();
    }
    updateStatus();
  });
  await pc.setLocalDescription(await pc.createOffer());
  await gatheringComplete(pc, 3000);
  if (state.pc === pc) send({ type: "offer", sdp: pc.localDescription.sdp });
}

function gatheringComplete(pc, timeoutMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => pc.iceGatheringState === "complete" && done();
    pc.addEventListener("icegatheringstatechange", check);
    setTimeout(done, timeoutMs);
  });
}
