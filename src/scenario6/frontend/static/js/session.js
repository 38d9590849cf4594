// The WebSocket session: moshi's binary protocol (0x00 handshake, 0x01 audio, 0x02 text)
// plus the frontend's opt-in JSON events, with automatic reconnection after unexpected
// closes. Emits "state", "audio", "text", "event" and "log" events.

const KIND_HANDSHAKE = 0x00;
const KIND_AUDIO = 0x01;
const KIND_TEXT = 0x02;

// Closes that a retry cannot fix: the request itself is wrong or not allowed.
const FINAL_CODES = new Map([
  [4400, "The server rejected the request"],
  [4401, "Not signed in"],
  [4403, "This page's origin is not allowed"],
  [1008, "The server closed the session (policy)"],
  [1009, "A message was too big for the server"],
]);

// 4429 is absent on purpose: it means a queue timeout or too many sessions from one client,
// and the server's own reason says which.
const CLOSE_REASONS = new Map([
  [1006, "Connection lost"],
  [1011, "Server error"],
  [1012, "The server is restarting"],
  [4408, "Closed for inactivity: no microphone audio reached the server"],
  [4502, "The model server is unreachable"],
  [4503, "The model server ended the session"],
  [4504, "The model server did not finish warming up in time"],
  [4508, "The connection was too slow to keep up"],
]);

export const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];

export class Session extends EventTarget {
  constructor({ path = "/api/chat", eventsParam = "events", location = globalThis.location } = {}) {
    super();
    this.path = path;
    this.eventsParam = eventsParam;
    this.location = location;
    this.ws = null;
    this.state = "idle";
    this.attempt = 0;
    this.timer = null;
    this.wanted = false;
    this.sent = { messages: 0, bytes: 0 };
  }

  url({ voice, persona }) {
    const scheme = this.location.protocol === "https:" ? "wss:" : "ws:";
    const url = new URL(this.path, `${scheme}//${this.location.host}`);
    url.searchParams.set("voice_prompt", `${voice}.pt`);
    url.searchParams.set("text_prompt", persona);
    url.searchParams.set(this.eventsParam, "1");
    return url.toString();
  }

  start(prompts) {
    this.prompts = prompts;
    this.wanted = true;
    this.attempt = 0;
    this.#connect();
  }

  stop() {
    this.wanted = false;
    clearTimeout(this.timer);
    this.timer = null;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000, "user stopped");
    }
    this.#setState("idle");
  }

  get live() {
    return this.state === "live";
  }

  /** Sends whole Ogg pages as one audio message; only once the server's handshake came. */
  sendAudio(pages) {
    if (!this.live || this.ws?.readyState !== WebSocket.OPEN) return false;
    const message = new Uint8Array(pages.length + 1);
    message[0] = KIND_AUDIO;
    message.set(pages, 1);
    this.ws.send(message);
    this.sent.messages += 1;
    this.sent.bytes += message.length;
    return true;
  }

  #connect() {
    this.#setState(this.attempt ? "reconnecting" : "connecting", { attempt: this.attempt });
    let ws;
    try {
      ws = new WebSocket(this.url(this.prompts));
    } catch (error) {
      this.#setState("error", { reason: `Cannot open the connection: ${error.message}` });
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.opened = false;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.opened = true;
      this.#log("connected, waiting for a model server");
      this.#setState("waiting");
    };
    ws.onmessage = (message) => {
      if (ws === this.ws) this.#onMessage(message.data);
    };
    ws.onclose = (event) => {
      if (ws === this.ws) this.#onClose(event);
    };
  }

  #onMessage(data) {
    if (typeof data === "string") {
      let event;
      try {
        event = JSON.parse(data);
      } catch {
        this.#log(`ignored a text message that is not JSON (${data.length} characters)`);
        return;
      }
      this.#onEvent(event);
      return;
    }
    const bytes = new Uint8Array(data);
    if (bytes.length === 0) return;
    const kind = bytes[0];
    if (kind === KIND_HANDSHAKE) {
      this.attempt = 0;
      this.#log("handshake received: the model is listening");
      this.#setState("live");
    } else if (kind === KIND_AUDIO) {
      this.dispatchEvent(new CustomEvent("audio", { detail: { bytes: bytes.subarray(1), receivedAt: performance.now() } }));
    } else if (kind === KIND_TEXT) {
      const piece = new TextDecoder().decode(bytes.subarray(1));
      this.dispatchEvent(new CustomEvent("text", { detail: { piece } }));
    } else {
      this.#log(`ignored a message of unknown kind 0x${kind.toString(16).padStart(2, "0")}`);
    }
  }

  #onEvent(event) {
    this.dispatchEvent(new CustomEvent("event", { detail: event }));
    if (event.type === "queued") {
      this.#log(`queued at position ${event.position} (${event.backends} model server(s))`);
      this.#setState("queued", { position: event.position });
    } else if (event.type === "backend") {
      this.#log(`model server assigned: ${event.kind ?? "unknown kind"} at ${event.url}`);
      if (!this.live) this.#setState("warming", { kind: event.kind });
    } else if (event.type === "error") {
      this.#log(`server error ${event.code}: ${event.reason}`);
      this.lastError = event;
    } else if (event.type === "warning") {
      this.#log(`server warning: ${event.message}`);
    }
  }

  #onClose(event) {
    this.ws = null;
    const code = event.code;
    const told = event.reason || this.lastError?.reason || "";
    // The server's own words say what exactly went wrong (a TLS failure, a stall...).
    const known = CLOSE_REASONS.get(code);
    const reason = !this.opened
      ? "The app server is unreachable"
      : known ? `${known}${told ? `: ${told}` : ""}` : told || "Connection closed";
    this.lastError = null;
    this.#log(`connection closed: ${code}${event.reason ? ` ${event.reason}` : ""}`);
    if (!this.wanted) return;
    if (FINAL_CODES.has(code)) {
      this.wanted = false;
      this.#setState("error", { reason: `${FINAL_CODES.get(code)}: ${told || reason}`, code });
      return;
    }
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    const jittered = Math.round(delay * (0.8 + Math.random() * 0.4));
    this.attempt += 1;
    this.#setState("reconnecting", { attempt: this.attempt, delayMs: jittered, reason, code });
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.wanted) this.#connect();
    }, jittered);
  }

  #setState(state, detail = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, ...detail } }));
  }

  #log(message) {
    this.dispatchEvent(new CustomEvent("log", { detail: { message } }));
  }
}
