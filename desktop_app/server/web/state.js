// The page's shared state: only what more than one part reads (each part keeps the rest
// to itself). Tests and debugging read it as window.aiwebcam.state, with a few timestamps.

const MODE_KEY = "aiwebcam.mode";

function storedMode() {
  try {
    return localStorage.getItem(MODE_KEY) === "hands_free" ? "hands_free" : "ptt";
  } catch (err) {
    return "ptt"; // storage blocked: the default
  }
}

// The mode chosen last is kept across reloads.
export function rememberMode(mode) {
  try {
    localStorage.setItem(MODE_KEY, mode);
  } catch (err) {
    /* not remembered: storage blocked */
  }
}

export const state = {
  // signalling.js: the connection
  pc: null, // RTCPeerConnection
  videoSender: null,
  audioSender: null,
  sessionId: null, // the server's session for this page ("hello")
  // media.js: what the server sees
  source: "camera", // "camera" | "screen"
  screen: null, // the shared screen's MediaStreamTrack
  // talk.js: talking and the reply
  mode: storedMode(), // "ptt" | "hands_free"
  listening: "off", // the server's hands-free state: "off" | "idle" | "hearing"
  switching: false, // the microphone is being reopened for the other mode
  speaking: false, // the server is sending reply audio
  busyTurn: null, // the turn under way
};

// For tests and debugging: the live objects and a few timestamps (media.js sets mediaAt
// when a microphone opens, talk.js releasedAt at a push-to-talk release, app.js adds
// bargeIns and reopenMic).
export const hooks = { mediaAt: null, releasedAt: null, bargeIns: [], state };
Object.defineProperty(hooks, "pc", { get: () => state.pc });
window.aiwebcam = hooks;
