// AI Webcam browser client: camera/screen + mic to the server over WebRTC, the reply's
// voice back; signalling, transcript and reply text over a WebSocket.
//
// This module starts the page and hands each server message to the part it concerns:
//   state.js       the shared state (window.aiwebcam.state: tests and debugging read it)
//   status.js      the connection status line and the toast
//   signalling.js  the WebSocket and the WebRTC offer/answer; reconnects
//   media.js       microphone, camera or screen, preview, the reply's voice
//   talk.js        push-to-talk / hands-free and the controls that show a turn
//   transcript.js  the conversation's bubbles (markdown.js renders the replies)

import { hooks, state } from "./state.js";
import { onStatus, setStatus, toast } from "./status.js";
import { hasToken, send, setAnswer, setSession, start, updateStatus } from "./signalling.js";
import { announceSource, openMedia, outgoingTracks, playReply, reopenMic, unlockAudio } from "./media.js";
import {
  announceMode,
  confirmHandsFree,
  endTurn,
  flashBargeIn,
  renderListening,
  setBusy,
  setConnected,
  setListening,
  setSpeaking,
  showRecording,
} from "./talk.js";
import { appendReply, dropPending, markTurn, notice, pendingBubble, setMetrics, userBubble } from "./transcript.js";

const textForm = document.getElementById("text-form");
const textInput = document.getElementById("text-input");

hooks.reopenMic = reopenMic;

// ---- messages from the server -------------------------------------------------------

function handle(m) {
  switch (m.type) {
    case "hello":
      setSession(m.session_id);
      announceMode();
      announceSource();
      break;
    case "answer":
      setAnswer(m.sdp);
      break;
    case "peer":
      updateStatus();
      break;
    case "speaking":
      setSpeaking(!!m.on);
      break;
    case "hands_free":
      confirmHandsFree(m.on);
      break;
    case "listening":
      setListening(m.state);
      break;
    case "utterance":
      pendingBubble();
      break;
    case "barge_in":
      hooks.bargeIns.push({ ...m, at: performance.now() });
      markTurn(m.turn_id, "interrupted", "Interrupted: you spoke", true);
      endTurn(m.turn_id);
      flashBargeIn();
      break;
    case "speech_ignored":
      toast("The reply goes on: interrupting by voice is off.");
      break;
    case "recording":
      showRecording(!!m.on);
      break;
    case "turn_started":
      setBusy(m.turn_id);
      break;
    case "transcript":
      userBubble(m.turn_id, m.text);
      break;
    case "delta":
      appendReply(m.turn_id, m.text);
      break;
    case "metrics":
      setMetrics(m.turn_id, m.summary);
      break;
    case "cancelled":
      markTurn(m.turn_id, "interrupted", "Interrupted");
      endTurn(m.turn_id);
      break;
    case "turn_error":
      markTurn(m.turn_id, "failed", m.message);
      endTurn(m.turn_id);
      break;
    case "waiting":
      if (state.busyTurn === m.turn_id) toast(m.message + "…"); // a slow model, not a hung page
      break;
    case "no_speech":
      dropPending();
      notice(state.mode === "hands_free" ? "No speech heard." : "No speech heard. Hold the button while you talk.");
      break;
    case "finished":
      endTurn(m.turn_id);
      break;
    case "error":
      if (m.code === "no_audio") dropPending();
      toast(m.message);
      break;
    default:
      break;
  }
}

// ---- typed messages -----------------------------------------------------------------

textForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = textInput.value.trim();
  if (!text) return;
  send({ type: "text", text });
  textInput.value = "";
  unlockAudio();
});

onStatus((ready) => {
  textInput.disabled = !ready;
  setConnected(ready);
});

setInterval(() => send({ type: "ping" }), 20000);

// ---- start --------------------------------------------------------------------------

if (!hasToken()) {
  setStatus("denied", "No token in the link");
} else {
  renderListening();
  openMedia().then((ok) => {
    renderListening();
    if (ok) start({ onMessage: handle, tracks: outgoingTracks, onReplyAudio: playReply });
  });
}
