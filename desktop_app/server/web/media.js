// Media: the microphone, the camera or a shared screen (switched without renegotiating),
// the preview of what the AI sees, and the reply's voice.

import { hooks, state } from "./state.js";
import { replaceAudio, replaceVideo, send } from "./signalling.js";
import { setStatus, toast } from "./status.js";

const preview = document.getElementById("preview");
const previewEmpty = document.getElementById("preview-empty");
const cameraButton = document.getElementById("use-camera");
const screenButton = document.getElementById("use-screen");
const replyAudio = document.getElementById("reply-audio");

const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 15, max: 30 } };

let mic = null; // MediaStreamTrack
let camera = null;

// Push-to-talk wants the raw microphone: the browser's echo cancellation garbles
// speech while the reply plays. Hands-free needs it: the mic hears the reply, and only
// the user's own voice may start a turn or interrupt the reply.
function audioConstraints(mode) {
  const raw = mode === "ptt";
  return { echoCancellation: !raw, noiseSuppression: !raw, autoGainControl: !raw, channelCount: 1 };
}

export async function openMedia() {
  let stream = null;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: audioConstraints(state.mode), video: VIDEO });
  } catch (err) {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: audioConstraints(state.mode) });
      toast("No camera: the AI hears you but cannot see you.");
    } catch (err2) {
      setStatus("nomedia", "Microphone blocked: allow it and reload");
      return false;
    }
  }
  hooks.mediaAt = performance.now();
  mic = stream.getAudioTracks()[0] || null;
  camera = stream.getVideoTracks()[0] || null;
  // The AI looks at single frames: under load keep resolution, drop frame rate instead.
  if (camera && "contentHint" in camera) camera.contentHint = "detail";
  showPreview();
  if (!navigator.mediaDevices.getDisplayMedia) screenButton.hidden = true;
  return true;
}

// What a new peer connection sends.
export function outgoingTracks() {
  return { audio: mic, video: currentVideo() };
}

function currentVideo() {
  return state.source === "screen" && state.screen ? state.screen : camera;
}

function showPreview() {
  const track = currentVideo();
  preview.srcObject = track ? new MediaStream([track]) : null;
  previewEmpty.hidden = !!track;
  preview.classList.toggle("mirrored", state.source === "camera");
  cameraButton.classList.toggle("active", state.source === "camera");
  screenButton.classList.toggle("active", state.source === "screen");
  cameraButton.setAttribute("aria-pressed", String(state.source === "camera"));
  screenButton.setAttribute("aria-pressed", String(state.source === "screen"));
}

async function useSource(source) {
  if (source === "screen" && !state.screen) {
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 10, max: 15 } }, audio: false });
      state.screen = stream.getVideoTracks()[0];
      if ("contentHint" in state.screen) state.screen.contentHint = "detail"; // legible text
      state.screen.addEventListener("ended", () => {
        state.screen = null;
        if (state.source === "screen") useSource("camera");
      });
    } catch (err) {
      toast("Screen sharing was not started.");
      return;
    }
  }
  if (source === "camera" && state.screen) {
    state.screen.stop();
    state.screen = null;
  }
  state.source = source;
  showPreview();
  // Switch what the server sees without renegotiating, and tell it what it now sees.
  await replaceVideo(currentVideo());
  send({ type: "source", source });
}

// A new session's server thinks it sees a camera.
export function announceSource() {
  if (state.source === "screen") send({ type: "source", source: "screen" });
}

// A new microphone track with the mode's processing, swapped in without renegotiating.
// The old one stops first: some phones capture only once at a time.
export async function reopenMic() {
  if (mic) mic.stop();
  let track = null;
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: audioConstraints(state.mode) });
    track = stream.getAudioTracks()[0] || null;
  } catch (err) {
    toast("Microphone unavailable: " + err.message);
  }
  mic = track;
  hooks.mediaAt = performance.now();
  await replaceAudio(track);
}

// The server's voice.
export function playReply(stream) {
  replyAudio.srcObject = stream;
  unlockAudio();
}

// Called in a user gesture: lets phones play the reply.
export function unlockAudio() {
  replyAudio.play().catch(() => {});
}

cameraButton.addEventListener("click", () => useSource("camera"));
screenButton.addEventListener("click", () => useSource("screen"));
