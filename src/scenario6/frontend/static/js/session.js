// The WebSocket session: moshi's binary protocol (a first byte for handshake, audio or text)
// plus the frontend's opt-in JSON events, with automatic reconnection after unexpected
// closes. Emits "state", "audio", "text", "event" and "log" events.
//
// The protocol's numbers (message kinds, close codes) are the server's: /api/config serves
// them by name as `protocol`, so this file repeats none of them; it says what each close
// means to the person using the page.

// By the name of the server's close code; `final`: no reconnect, as the "reconnect?" column
// of docs/protocol.md's close-code table says (a retry cannot fix the request, or would
// repeat what made the server close).
export const CLOSES = {
  NORMAL: { text: "The server ended the session", final: true },
  BAD_REQUEST: { text: "The server rejected the request", final: true },
  NOT_SIGNED_IN: { text: "Not signed in", final: true },
  FORBIDDEN_ORIGIN: { text: "This page's origin is not allowed", final: true },
  POLICY: { text: "The server closed the session (policy)", final: true },
  TOO_BIG: { text: "A message was too big for the server", final: true },
  RESTARTING: { text: "The server is restarting" },
  GOING_AWAY: { text: "The server shut down" },
  IDLE: { text: "Closed for inactivity: no microphone audio reached the server" },
  // A microphone cannot run ahead of real time: only a long stall's backlog, flushed at once.
  AUDIO_TOO_FAST: { text: "Audio arrived faster than real time (after a network stall?)", final: true },
  TOO_MANY_SESSIONS: { text: "Too many sessions from this browser's address or account" },
  QUEUE_TIMEOUT: { text: "Every model server stayed busy for too long" },
  BACKEND_UNREACHABLE: { text: "The model server is unreachable" },
  BACKEND_CLOSED: { text: "The model server ended the session" },
  HANDSHAKE_TIMEOUT: { text: "The model server did not finish warming up in time" },
  SHARED_STATE_UNREACHABLE: { text: "The server cannot reach its shared queue" },
  CLIENT_TOO_SLOW: { text: "The connection was too slow to keep up", final: true },
};

// Codes of the WebSocket standard (RFC 6455) rather than of this app: the browser reports
// 1006 when a connection drops without a close, and a server's 1011 is an internal error.
const STANDARD_CLOSES = new Map([
  [1006, { text: "Connection lost" }],
  [1011, { text: "Server error" }],
]);

export const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];

export class Session extends EventTarget {
  /** `path`, `eventsParam` and `protocol`: /api/config's session.path, session.events_param
   * and protocol ({kinds, closes}: numbers by name). */
  constructor({ path, eventsParam, protocol, location = globalThis.location }) {
    super();
    this.path = path;
    this.eventsParam = eventsParam;
    this.kinds = protocol.kinds;
    this.closeCodes = protocol.closes;
    this.meanings = new Map(
      Object.entries(protocol.closes)
        .filter(([name]) => name in CLOSES)
        .map(([name, code]) => [code, CLOSES[name]]),
    );
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
      ws.close(this.closeCodes.NORMAL, "user stopped");
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
    message[0] = this.kinds.AUDIO;
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
    if (kind === this.kinds.HANDSHAKE) {
      this.attempt = 0;
      this.#log("handshake received: the model is listening");
      this.#setState("live");
    } else if (kind === this.kinds.AUDIO) {
      this.dispatchEvent(new CustomEvent("audio", { detail: { bytes: bytes.subarray(1), receivedAt: performance.now() } }));
    } else if (kind === this.kinds.TEXT) {
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
    const known = this.meanings.get(code) ?? STANDARD_CLOSES.get(code);
    const fallback = this.opened ? "Connection closed" : "The app server is unreachable";
    // The server's own words say what exactly went wrong (a TLS failure, a stall...).
    let reason = fallback;
    if (this.opened) reason = known ? `${known.text}${told ? `: ${told}` : ""}` : told || fallback;
    this.lastError = null;
    this.#log(`connection closed: ${code}${event.reason ? ` ${event.reason}` : ""}`);
    if (!this.wanted) return;
    if (known?.final) {
      this.wanted = false;
      this.#setState("error", { reason, code });
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
