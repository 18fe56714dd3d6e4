// The transcript: the user's words and the AI's replies as chat bubbles, a reply rendered
// from its markdown (markdown.js builds DOM nodes, never parses HTML) at most once a frame
// while it streams, and tags on replies cut short.

import { renderMarkdown } from "./markdown.js";

const list = document.getElementById("transcript");
let welcome = document.getElementById("welcome");

const turns = new Map(); // turn id -> its reply and bubbles
let pendingUser = null; // the "…" bubble of speech not transcribed yet

function turnOf(turnId) {
  let turn = turns.get(turnId);
  if (!turn) {
    turn = { id: turnId, reply: "", metrics: "", assistant: null, body: null, meta: null, scheduled: false };
    turns.set(turnId, turn);
  }
  return turn;
}

function scrollDown() {
  const box = list.parentElement;
  box.scrollTop = box.scrollHeight;
}

function bubble(role, text) {
  if (welcome) {
    welcome.remove();
    welcome = null;
  }
  const li = document.createElement("li");
  li.className = "msg " + role;
  const label = document.createElement("div");
  label.className = "who";
  label.textContent = role.startsWith("user") ? "You" : "AI";
  const body = document.createElement("div");
  body.className = "text";
  if (text !== undefined) body.textContent = text;
  li.appendChild(label);
  li.appendChild(body);
  list.appendChild(li);
  scrollDown();
  return li;
}

// Speech sent, its words not known yet.
export function pendingBubble() {
  dropPending();
  pendingUser = bubble("user pending", "…");
}

export function dropPending() {
  if (pendingUser) pendingUser.remove();
  pendingUser = null;
}

export function userBubble(turnId, text) {
  let li = pendingUser;
  pendingUser = null;
  if (li) {
    li.className = "msg user";
    li.querySelector(".text").textContent = text;
  } else {
    li = bubble("user", text);
  }
  li.dataset.turn = turnId;
  scrollDown();
}

export function appendReply(turnId, text) {
  const turn = turnOf(turnId);
  turn.reply += text;
  renderReply(turn);
}

export function setMetrics(turnId, summary) {
  const turn = turnOf(turnId);
  turn.metrics = summary;
  renderReply(turn);
}

function renderReply(turn) {
  if (!turn.assistant) {
    turn.assistant = bubble("assistant");
    turn.assistant.dataset.turn = turn.id;
    turn.body = turn.assistant.querySelector(".text");
    turn.meta = document.createElement("div");
    turn.meta.className = "meta";
    turn.assistant.appendChild(turn.meta);
  }
  if (turn.scheduled) return;
  turn.scheduled = true;
  requestAnimationFrame(() => {
    turn.scheduled = false;
    turn.body.replaceChildren(renderMarkdown(turn.reply));
    turn.meta.textContent = turn.metrics;
    scrollDown();
  });
}

// A reply cut short: its bubble gets the class and a tag (retag: a later word for it).
export function markTurn(turnId, cls, text, retag = false) {
  const turn = turnOf(turnId);
  renderReply(turn);
  if (turn.assistant.classList.contains(cls)) {
    if (retag) turn.assistant.querySelector(".tag").textContent = text;
    return;
  }
  turn.assistant.classList.add(cls);
  const tag = document.createElement("div");
  tag.className = "tag";
  tag.textContent = text;
  turn.assistant.appendChild(tag);
}

export function notice(text) {
  const li = document.createElement("li");
  li.className = "notice";
  li.textContent = text;
  list.appendChild(li);
  scrollDown();
}
