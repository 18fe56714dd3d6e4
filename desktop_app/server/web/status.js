// The page's connection status (<body data-state> and the status line) and the toast.

const statusText = document.getElementById("status-text");
const toastBox = document.getElementById("toast");

const STATUS_TEXT = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  denied: "Access denied",
  full: "Server full",
  nomedia: "No microphone",
};
const listeners = [];

// listener(ready): called on every status change; ready when connected.
export function onStatus(listener) {
  listeners.push(listener);
}

export function setStatus(name, detail) {
  document.body.dataset.state = name;
  statusText.textContent = detail || STATUS_TEXT[name] || name;
  for (const listener of listeners) listener(name === "connected");
}

export function currentStatus() {
  return document.body.dataset.state;
}

let toastTimer = null;
export function toast(message) {
  toastBox.textContent = message;
  toastBox.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (toastBox.hidden = true), 4000);
}
