// The assistant's words as they stream in: one bubble per turn, a new turn after a pause.
// Text is only ever set through textContent.

export const TURN_PAUSE_MS = 2500;

export class Transcript {
  constructor(container, { now = () => performance.now(), pauseMs = TURN_PAUSE_MS } = {}) {
    this.container = container;
    this.now = now;
    this.pauseMs = pauseMs;
    this.bubble = null;
    this.last = -Infinity;
  }

  add(piece) {
    const now = this.now();
    if (!this.bubble || now - this.last > this.pauseMs) this.#newBubble(piece.trimStart());
    else this.bubble.text.textContent += piece;
    this.last = now;
    this.container.scrollTop = this.container.scrollHeight;
  }

  /** Ends the current turn, e.g. at a reconnect, so the next words start a fresh bubble. */
  endTurn() {
    this.bubble = null;
  }

  note(message) {
    const item = document.createElement("div");
    item.className = "note";
    item.textContent = message;
    this.container.append(item);
    this.bubble = null;
    this.container.scrollTop = this.container.scrollHeight;
  }

  clear() {
    this.container.replaceChildren();
    this.bubble = null;
  }

  #newBubble(text) {
    const bubble = document.createElement("article");
    bubble.className = "bubble";
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = "Assistant";
    const time = document.createElement("time");
    const at = new Date();
    time.dateTime = at.toISOString();
    time.textContent = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    const body = document.createElement("p");
    body.textContent = text;
    const header = document.createElement("header");
    header.append(who, time);
    bubble.append(header, body);
    this.container.append(bubble);
    this.bubble = { element: bubble, text: body };
  }
}
