// AI Webcam browser client: camera/screen + mic to the server over WebRTC, the reply's
// voice back; signaling, transcript and reply text over a WebSocket.
"use strict";

(function () {
  const token = new URLSearchParams(window.location.search).get("token") || "";
  const $ = (id) => document.getElementById(id);
  const ui = {
    status: $("status-text"),
    preview: $("preview"),
    previewEmpty: $("preview-empty"),
    camera: $("use-camera"),
    screen: $("use-screen"),
    listening: $("listening"),
    transcript: $("transcript"),
    welcome: $("welcome"),
    textForm: $("text-form"),
    textInput: $("text-input"),
    talk: $("talk"),
    talkLabel: $("talk-label"),
    handsFree: $("hands-free"),
    hfStatus: $("hf-status"),
    hfLabel: $("hf-label"),
    kbdHint: $("kbd-hint"),
    cancel: $("cancel"),
    toast: $("toast"),
    audio: $("reply-audio"),
  };

  // Push-to-talk wants the raw microphone: the browser's echo cancellation garbles
  // speech while the reply plays. Hands-free needs it: the mic hears the reply, and only
  // the user's own voice may start a turn or interrupt the reply.
  const MODE_KEY = "aiwebcam.mode";
  function audioConstraints(mode) {
    const raw = mode === "ptt";
    return { echoCancellation: !raw, noiseSuppression: !raw, autoGainControl: !raw, channelCount: 1 };
  }
  function storedMode() {
    try {
      return localStorage.getItem(MODE_KEY) === "hands_free" ? "hands_free" : "ptt";
    } catch (err) {
      return "ptt"; // storage blocked: the default
    }
  }
  const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 15, max: 30 } };
  // What the server gets of it: it needs the frame at the end of a turn, not motion. Every
  // frame sent is decoded on the server's two cores, next to the language model, so the
  // preview stays smooth here and 5 frames a second go out (at most 200 ms old at a turn).
  const SEND_VIDEO = [{ maxFramerate: 5 }];

  const state = {
    ws: null,
    pc: null,
    videoSender: null,
    audioSender: null,
    mic: null, // MediaStreamTrack
    camera: null,
    screen: null,
    source: "camera",
    mode: storedMode(), // "ptt" | "hands_free"
    listening: "off", // the server's hands-free state: "off" | "idle" | "hearing"
    switching: false,
    held: false,
    turns: new Map(),
    pendingUser: null,
    busyTurn: null,
    spokenTurn: null,
    speaking: false,
    retries: 0,
    stopped: false,
    sessionId: null,
  };
  // For tests and debugging: the live objects and a few timestamps.
  const hooks = { mediaAt: null, releasedAt: null, bargeIns: [], state };
  window.aiwebcam = hooks;
  Object.defineProperty(hooks, "pc", { get: () => state.pc });

  // ---- status --------------------------------------------------------------------

  const STATUS_TEXT = {
    connecting: "Connecting…",
    connected: "Connected",
    reconnecting: "Reconnecting…",
    denied: "Access denied",
    full: "Server full",
    nomedia: "No microphone",
  };
  function setState(name, detail) {
    document.body.dataset.state = name;
    ui.status.textContent = detail || STATUS_TEXT[name] || name;
    const ready = name === "connected";
    ui.talk.disabled = !ready;
    ui.textInput.disabled = !ready;
    if (!ready) stopTalking(false);
    renderListening();
  }
  function updateState() {
    const ws = state.ws && state.ws.readyState === WebSocket.OPEN;
    const pcState = state.pc ? state.pc.connectionState : "new";
    if (ws && pcState === "connected") setState("connected");
    else if (ws && pcState === "failed") setState("reconnecting", "Media connection failed");
    else if (!["denied", "full", "nomedia"].includes(document.body.dataset.state)) setState(state.retries ? "reconnecting" : "connecting");
  }

  let toastTimer = null;
  function toast(message) {
    ui.toast.textContent = message;
    ui.toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (ui.toast.hidden = true), 4000);
  }

  // ---- media ---------------------------------------------------------------------

  async function openMedia() {
    let stream = null;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: audioConstraints(state.mode), video: VIDEO });
    } catch (err) {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: audioConstraints(state.mode) });
        toast("No camera: the AI hears you but cannot see you.");
      } catch (err2) {
        setState("nomedia", "Microphone blocked: allow it and reload");
        return false;
      }
    }
    hooks.mediaAt = performance.now();
    state.mic = stream.getAudioTracks()[0] || null;
    state.camera = stream.getVideoTracks()[0] || null;
    // The AI looks at single frames: under load keep resolution, drop frame rate instead.
    if (state.camera && "contentHint" in state.camera) state.camera.contentHint = "detail";
    showPreview();
    if (!navigator.mediaDevices.getDisplayMedia) ui.screen.hidden = true;
    return true;
  }

  function currentVideo() {
    return state.source === "screen" && state.screen ? state.screen : state.camera;
  }

  function showPreview() {
    const track = currentVideo();
    ui.preview.srcObject = track ? new MediaStream([track]) : null;
    ui.previewEmpty.hidden = !!track;
    ui.preview.classList.toggle("mirrored", state.source === "camera");
    ui.camera.classList.toggle("active", state.source === "camera");
    ui.screen.classList.toggle("active", state.source === "screen");
    ui.camera.setAttribute("aria-pressed", String(state.source === "camera"));
    ui.screen.setAttribute("aria-pressed", String(state.source === "screen"));
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
    // Switch what the server sees without renegotiating.
    if (state.videoSender) await state.videoSender.replaceTrack(currentVideo());
  }

  // A new microphone track with the mode's processing, swapped in without renegotiating.
  // The old one stops first: some phones capture only once at a time.
  async function reopenMic() {
    if (state.mic) state.mic.stop();
    let track = null;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: audioConstraints(state.mode) });
      track = stream.getAudioTracks()[0] || null;
    } catch (err) {
      toast("Microphone unavailable: " + err.message);
    }
    state.mic = track;
    hooks.mediaAt = performance.now();
    if (state.audioSender) await state.audioSender.replaceTrack(track);
  }
  hooks.reopenMic = reopenMic;

  // ---- signaling -----------------------------------------------------------------

  function send(message) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
  }

  function connect() {
    if (state.stopped) return;
    updateState();
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${window.location.host}/ws?token=${encodeURIComponent(token)}`);
    state.ws = ws;
    ws.addEventListener("open", () => {
      startPeer().catch((err) => toast("Media connection failed: " + err.message));
    });
    ws.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      handle(message);
    });
    ws.addEventListener("close", (event) => {
      if (state.ws !== ws) return;
      closePeer();
      if (event.code === 4008) {
        setState("full", "Server full: retrying…");
      } else if (event.code === 4003) {
        setState("denied", "Access revoked: ask for the new link");
        state.stopped = true;
        return;
      }
      scheduleReconnect();
    });
  }

  async function scheduleReconnect() {
    state.retries += 1;
    updateState();
    // A closed socket says nothing about why: ask whether the token still works.
    try {
      const res = await fetch(`/?token=${encodeURIComponent(token)}`, { method: "HEAD", cache: "no-store" });
      if (res.status === 401 || res.status === 403) {
        setState("denied", "Access denied: ask for the new link");
        state.stopped = true;
        return;
      }
    } catch (err) {
      /* server down: keep trying */
    }
    const delay = Math.min(10000, 500 * 2 ** Math.min(state.retries, 5));
    setTimeout(connect, delay);
  }

  function closePeer() {
    if (state.pc) state.pc.close();
    state.pc = null;
    state.videoSender = null;
    state.audioSender = null;
    updateState();
  }

  async function startPeer() {
    closePeer();
    const pc = new RTCPeerConnection({ iceServers: [] });
    state.pc = pc;
    state.audioSender = pc.addTransceiver(state.mic || "audio", { direction: "sendrecv" }).sender;
    state.videoSender = pc.addTransceiver(currentVideo() || "video", { direction: "sendonly", sendEncodings: SEND_VIDEO }).sender;
    pc.addEventListener("track", (event) => {
      if (event.track.kind !== "audio") return;
      ui.audio.srcObject = event.streams[0] || new MediaStream([event.track]);
      ui.audio.play().catch(() => {});
    });
    pc.addEventListener("connectionstatechange", () => {
      if (state.pc !== pc) return;
      if (pc.connectionState === "connected") state.retries = 0;
      if (pc.connectionState === "failed" && state.ws) state.ws.close();
      updateState();
    });
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc, 3000); // the server has no trickle ICE
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

  // ---- messages from the server ---------------------------------------------------

  function handle(m) {
    switch (m.type) {
      case "hello":
        state.sessionId = m.session_id;
        state.listening = "off";
        if (state.mode === "hands_free") send({ type: "hands_free", on: true }); // a new session starts in push-to-talk
        break;
      case "answer":
        if (state.pc) state.pc.setRemoteDescription({ type: "answer", sdp: m.sdp }).catch((err) => toast("Bad answer: " + err.message));
        break;
      case "peer":
        updateState();
        break;
      case "speaking":
        state.speaking = !!m.on;
        if (state.speaking) state.spokenTurn = state.busyTurn; // "Replying" until it ends, between sentences too
        updateCancel();
        renderListening();
        break;
      case "hands_free":
        if (m.on !== (state.mode === "hands_free")) send({ type: "hands_free", on: state.mode === "hands_free" }); // switched again meanwhile
        break;
      case "listening":
        state.listening = m.state;
        renderListening();
        break;
      case "utterance":
        pendingBubble();
        break;
      case "barge_in":
        hooks.bargeIns.push({ ...m, at: performance.now() });
        markTurn(m.turn_id, "interrupted", "Interrupted: you spoke", true);
        ui.hfStatus.classList.remove("barged");
        void ui.hfStatus.offsetWidth; // restart the flash
        ui.hfStatus.classList.add("barged");
        break;
      case "speech_ignored":
        toast("The reply goes on: interrupting by voice is off.");
        break;
      case "recording":
        ui.talk.classList.toggle("recording", !!m.on);
        break;
      case "turn_started":
        turnOf(m.turn_id);
        setBusy(m.turn_id);
        break;
      case "transcript":
        userBubble(m.turn_id, m.text);
        break;
      case "delta": {
        const turn = turnOf(m.turn_id);
        turn.reply += m.text;
        renderReply(turn);
        break;
      }
      case "metrics": {
        const turn = turnOf(m.turn_id);
        turn.metrics = m.summary;
        renderReply(turn);
        break;
      }
      case "cancelled":
        markTurn(m.turn_id, "interrupted", "Interrupted");
        break;
      case "turn_error":
        markTurn(m.turn_id, "failed", m.message);
        break;
      case "no_speech":
        dropPending();
        notice(state.mode === "hands_free" ? "No speech heard." : "No speech heard. Hold the button while you talk.");
        break;
      case "finished":
        if (state.busyTurn === m.turn_id) setBusy(null);
        break;
      case "error":
        if (m.code === "no_audio") dropPending();
        toast(m.message);
        break;
      default:
        break;
    }
  }

  function setBusy(turnId) {
    state.busyTurn = turnId;
    updateCancel();
    renderListening();
  }

  function updateCancel() {
    ui.cancel.disabled = !(state.busyTurn || state.speaking);
  }

  function turnOf(turnId) {
    let turn = state.turns.get(turnId);
    if (!turn) {
      turn = { id: turnId, reply: "", metrics: "", user: null, assistant: null, body: null, meta: null, scheduled: false };
      state.turns.set(turnId, turn);
    }
    return turn;
  }

  function scrollDown() {
    const box = ui.transcript.parentElement;
    box.scrollTop = box.scrollHeight;
  }

  function bubble(role, text) {
    if (ui.welcome) {
      ui.welcome.remove();
      ui.welcome = null;
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
    ui.transcript.appendChild(li);
    scrollDown();
    return li;
  }

  function pendingBubble() {
    dropPending();
    state.pendingUser = bubble("user pending", "…");
  }

  function dropPending() {
    if (state.pendingUser) state.pendingUser.remove();
    state.pendingUser = null;
  }

  function userBubble(turnId, text) {
    const turn = turnOf(turnId);
    let li = state.pendingUser;
    state.pendingUser = null;
    if (li) {
      li.className = "msg user";
      li.querySelector(".text").textContent = text;
    } else {
      li = bubble("user", text);
    }
    li.dataset.turn = turnId;
    turn.user = li;
    scrollDown();
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
      turn.body.replaceChildren(window.renderMarkdown(turn.reply));
      turn.meta.textContent = turn.metrics;
      scrollDown();
    });
  }

  function markTurn(turnId, cls, text, retag = false) {
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
    if (state.busyTurn === turnId) setBusy(null);
  }

  function notice(text) {
    const li = document.createElement("li");
    li.className = "notice";
    li.textContent = text;
    ui.transcript.appendChild(li);
    scrollDown();
  }

  // ---- hands-free ----------------------------------------------------------------

  const LISTENING_TEXT = {
    offline: "Not connected",
    starting: "Starting…",
    listening: "Listening…",
    hearing: "Hearing you",
    thinking: "Thinking…",
    replying: "Replying", // (wide screens add: talk to interrupt)
  };

  function renderListening() {
    const handsFree = state.mode === "hands_free";
    ui.talk.hidden = handsFree;
    ui.hfStatus.hidden = !handsFree;
    ui.kbdHint.hidden = handsFree;
    ui.handsFree.setAttribute("aria-checked", String(handsFree));
    ui.handsFree.disabled = state.switching || !hooks.mediaAt; // the first microphone is not open yet
    if (!handsFree) return;
    let shown = "listening";
    if (document.body.dataset.state !== "connected") shown = "offline";
    else if (state.listening === "off") shown = "starting";
    else if (state.listening === "hearing") shown = "hearing";
    else if (state.speaking || (state.busyTurn && state.busyTurn === state.spokenTurn)) shown = "replying";
    else if (state.busyTurn) shown = "thinking";
    ui.hfStatus.dataset.state = shown;
    ui.hfLabel.textContent = LISTENING_TEXT[shown];
  }

  async function setMode(mode) {
    if (mode === state.mode || state.switching) return;
    stopTalking(false);
    state.mode = mode;
    state.switching = true;
    try {
      localStorage.setItem(MODE_KEY, mode);
    } catch (err) {
      /* not remembered: storage blocked */
    }
    renderListening();
    ui.audio.play().catch(() => {}); // a user gesture: lets phones play the reply
    try {
      await reopenMic(); // echo cancellation on (hands-free) or off (push-to-talk)
    } finally {
      state.switching = false;
      if (mode === "ptt") state.listening = "off";
      send({ type: "hands_free", on: mode === "hands_free" });
      renderListening();
    }
  }

  ui.handsFree.addEventListener("click", () => setMode(state.mode === "hands_free" ? "ptt" : "hands_free"));

  // ---- push-to-talk --------------------------------------------------------------

  function startTalking() {
    if (state.held || ui.talk.disabled || state.mode !== "ptt") return;
    state.held = true;
    ui.talk.classList.add("held");
    ui.talkLabel.textContent = "Release to send";
    ui.listening.hidden = false;
    ui.audio.play().catch(() => {}); // a user gesture: lets phones play the reply
    send({ type: "ptt", action: "start" });
  }

  function stopTalking(submit = true) {
    if (!state.held) return;
    state.held = false;
    hooks.releasedAt = performance.now();
    ui.talk.classList.remove("held");
    ui.talkLabel.textContent = "Hold to talk";
    ui.listening.hidden = true;
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

  ui.talk.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    try {
      ui.talk.setPointerCapture(event.pointerId);
    } catch (err) {
      /* synthetic events have no capturable pointer */
    }
    startTalking();
  });
  for (const name of ["pointerup", "pointercancel", "lostpointercapture"]) {
    ui.talk.addEventListener(name, () => stopTalking());
  }
  ui.talk.addEventListener("contextmenu", (event) => event.preventDefault());
  ui.talk.addEventListener("click", (event) => event.preventDefault());

  ui.cancel.addEventListener("click", () => {
    send({ type: "cancel" });
    ui.cancel.disabled = true;
  });

  ui.camera.addEventListener("click", () => useSource("camera"));
  ui.screen.addEventListener("click", () => useSource("screen"));

  ui.textForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = ui.textInput.value.trim();
    if (!text) return;
    send({ type: "text", text });
    ui.textInput.value = "";
    ui.audio.play().catch(() => {});
  });

  setInterval(() => send({ type: "ping" }), 20000);

  // ---- start ---------------------------------------------------------------------

  if (!token) {
    setState("denied", "No token in the link");
    return;
  }
  renderListening();
  openMedia().then((ok) => {
    renderListening();
    if (ok) connect();
  });
})();
