// Talking: push-to-talk (hold Space, or the Talk button by mouse or touch) or hands-free
// (the server listens; talk over a reply to interrupt it), and the controls that show
// where a turn is: the Talk button, the hands-free switch and indicator, Cancel.

import { hooks, rememberMode, state } from "./state.js";
import { reopenMic, unlockAudio } from "./media.js";
import { send } from "./signalling.js";
import { currentStatus } from "./status.js";
import { pendingBubble } from "./transcript.js";

const talkButton = document.getElementById("talk");
const talkLabel = document.getElementById("talk-label");
const handsFreeSwitch = document.getElementById("hands-free");
const hfStatus = document.getElementById("hf-status");
const hfLabel = document.getElementById("hf-label");
const kbdHint = document.getElementById("kbd-hint");
const listeningBadge = document.getElementById("listening");
const cancelButton = document.getElementById("cancel");

const LISTENING_TEXT = {
  offline: "Not connected",
  starting: "Starting…",
  listening: "Listening…",
  hearing: "Hearing you",
  thinking: "Thinking…",
  replying: "Replying", // (wide screens add: talk to interrupt)
};

let held = false; // push-to-talk is down
let spokenTurn = null; // the turn whose reply has started playing: "Replying" until it ends

// ---- what the server says -----------------------------------------------------------

export function setConnected(ready) {
  talkButton.disabled = !ready;
  if (!ready) stopTalking(false);
  renderListening();
}

// A new session starts in push-to-talk.
export function announceMode() {
  state.listening = "off";
  if (state.mode === "hands_free") send({ type: "hands_free", on: true });
}

// The server applied hands-free on or off; the page may have switched again meanwhile.
export function confirmHandsFree(on) {
  if (on !== (state.mode === "hands_free")) send({ type: "hands_free", on: state.mode === "hands_free" });
}

export function setListening(listening) {
  state.listening = listening;
  renderListening();
}

export function setSpeaking(on) {
  state.speaking = on;
  if (state.speaking) spokenTurn = state.busyTurn; // "Replying" until it ends, between sentences too
  updateCancel();
  renderListening();
}

export function setBusy(turnId) {
  state.busyTurn = turnId;
  updateCancel();
  renderListening();
}

// A turn finished, failed or was cut short.
export function endTurn(turnId) {
  if (state.busyTurn === turnId) setBusy(null);
}

export function showRecording(on) {
  talkButton.classList.toggle("recording", on);
}

export function flashBargeIn() {
  hfStatus.classList.remove("barged");
  void hfStatus.offsetWidth; // restart the flash
  hfStatus.classList.add("barged");
}

function updateCancel() {
  cancelButton.disabled = !(state.busyTurn || state.speaking);
}

export function renderListening() {
  const handsFree = state.mode === "hands_free";
  talkButton.hidden = handsFree;
  hfStatus.hidden = !handsFree;
  kbdHint.hidden = handsFree;
  handsFreeSwitch.setAttribute("aria-checked", String(handsFree));
  handsFreeSwitch.disabled = state.switching || !hooks.mediaAt; // the first microphone is not open yet
  if (!handsFree) return;
  let shown = "listening";
  if (currentStatus() !== "connected") shown = "offline";
  else if (state.listening === "off") shown = "starting";
  else if (state.listening === "hearing") shown = "hearing";
  else if (state.speaking || (state.busyTurn && state.busyTurn === spokenTurn)) shown = "replying";
  else if (state.busyTurn) shown = "thinking";
  hfStatus.dataset.state = shown;
  hfLabel.textContent = LISTENING_TEXT[shown];
}

// ---- hands-free ---------------------------------------------------------------------

async function setMode(mode) {
  if (mode === state.mode || state.switching) return;
  stopTalking(false);
  state.mode = mode;
  state.switching = true;
  rememberMode(mode);
  renderListening();
  unlockAudio();
  try {
    await reopenMic(); // echo cancellation on (hands-free) or off (push-to-talk)
  } finally {
    state.switching = false;
    if (mode === "ptt") state.listening = "off";
    send({ type: "hands_free", on: mode === "hands_free" });
    renderListening();
  }
}

handsFreeSwitch.addEventListener("click", () => setMode(state.mode === "hands_free" ? "ptt" : "hands_free"));

// ---- push-to-talk -------------------------------------------------------------------

function startTalking() {
  if (held || talkButton.disabled || state.mode !== "ptt") return;
  held = true;
  talkButton.classList.add("held");
  talkLabel.textContent = "Release to send";
  listeningBadge.hidden = false;
  unlockAudio();
  send({ type: "ptt", action: "start" });
}

function stopTalking(submit = true) {
  if (!held) return;
  held = false;
  hooks.releasedAt = performance.now();
  talkButton.classList.remove("held");
  talkLabel.textContent = "Hold to talk";
  listeningBadge.hidden = true;
  if (submit) {
    send({ type: "ptt", action: "stop" });
    pendingBubble();
  }
}

function typing(target) {
  return target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable);
}

window.addEventListener("keydown", (event) => {
  if (event.code !== "Space" || typing(event.target)) return;
  event.preventDefault();
  if (!event.repeat) startTalking();
});
window.addEventListener("keyup", (event) => {
  if (event.code !== "Space" || typing(event.target)) return;
  event.preventDefault(); // no "click" on a focused button
  stopTalking();
});
window.addEventListener("blur", () => stopTalking());

talkButton.addEventListener("pointerdown", (event) => {
  if (event.button !== 0) return;
  event.preventDefault();
  try {
    talkButton.setPointerCapture(event.pointerId);
  } catch (err) {
    /* synthetic events have no capturable pointer */
  }
  startTalking();
});
for (const name of ["pointerup", "pointercancel", "lostpointercapture"]) {
  talkButton.addEventListener(name, () => stopTalking());
}
talkButton.addEventListener("contextmenu", (event) => event.preventDefault());
talkButton.addEventListener("click", (event) => event.preventDefault());

cancelButton.addEventListener("click", () => {
  send({ type: "cancel" });
  cancelButton.disabled = true;
});
