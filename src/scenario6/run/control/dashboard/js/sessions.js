// The frontend's sessions: live and queued, and per backend its slots and active sessions.

import { getJson } from "./api.js";

const EVERY_MS = 1000;

export class SessionsPanel {
  constructor({ live, queued, table, note }) {
    Object.assign(this, { live, queued, note, body: table.tBodies[0] });
  }

  start() {
    const tick = async () => {
      if (document.hidden) return setTimeout(tick, EVERY_MS);
      try {
        this.render(await getJson("/api/v1/sessions"));
      } catch (error) {
        this.note.textContent = `sessions unavailable: ${error.message}`;
      }
      setTimeout(tick, EVERY_MS);
    };
    tick();
  }

  render(answer) {
    if (!answer.available) {
      this.live.textContent = this.queued.textContent = "–";
      this.body.replaceChildren();
      this.note.textContent = answer.reason;
      return;
    }
    this.live.textContent = String(answer.live);
    this.queued.textContent = String(answer.queued);
    this.note.textContent = `from ${answer.resource} (${answer.url})`;
    this.body.replaceChildren(...answer.backends.map((backend) => {
      const row = document.createElement("tr");
      row.dataset.backend = backend.url;
      for (const value of [backend.url, backend.kind || "not known yet", backend.slots,
        backend.active]) {
        row.insertCell().textContent = String(value);
      }
      return row;
    }));
  }
}
