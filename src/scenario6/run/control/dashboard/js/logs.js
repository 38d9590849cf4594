// One resource's console log: the last lines, then new ones as they come; filter and follow.

import { stream } from "./api.js";

const KEEP = 5000; // lines kept on the page; the whole log is in .scenario6/run/logs/

export class LogView {
  constructor({ pre, filter, follow, count }) {
    this.pre = pre;
    this.filter = filter;
    this.follow = follow;
    this.count = count;
    this.source = null;
    this.name = null;
    this.pending = null; // lines not yet on the page
    filter.addEventListener("input", () => this.applyFilter());
    follow.addEventListener("change", () => this.follow.checked && this.scroll());
  }

  show(name) {
    if (name === this.name) return;
    this.name = name;
    if (this.source) this.source.close();
    this.pending = null;
    this.pre.replaceChildren();
    this.pre.dataset.resource = name;
    const path = `/api/v1/resources/${encodeURIComponent(name)}/logs?tail=1000&follow=1`;
    this.source = stream(path, { line: (line) => this.add(line) });
  }

  // Lines arrive one event each; they are put on the page once per frame, so that a burst
  // (a reload, a chatty request log) costs one layout rather than one per line.
  add(line) {
    if (!this.pending) {
      this.pending = [];
      requestAnimationFrame(() => this.flush());
    }
    this.pending.push(line);
    // A hidden tab gets no frames: keep only what the page would keep anyway.
    if (this.pending.length > KEEP) this.pending.shift();
  }

  flush() {
    const lines = this.pending;
    this.pending = null;
    if (!lines) return; // another resource was picked meanwhile
    const batch = document.createDocumentFragment();
    for (const line of lines) {
      const row = document.createElement("span");
      row.className = "line";
      row.dataset.seq = line.seq;
      const at = document.createElement("time");
      at.textContent = new Date(line.at * 1000).toLocaleTimeString();
      row.append(at, line.text);
      row.hidden = !this.matches(line.text);
      batch.append(row);
    }
    this.pre.append(batch);
    const extra = this.pre.childElementCount - KEEP;
    for (let index = 0; index < extra; index++) this.pre.firstElementChild.remove();
    this.updateCount();
    if (this.follow.checked) this.scroll();
  }

  matches(text) {
    const wanted = this.filter.value.trim().toLowerCase();
    return !wanted || text.toLowerCase().includes(wanted);
  }

  applyFilter() {
    for (const row of this.pre.children) {
      row.hidden = !this.matches(row.lastChild.textContent);
    }
    this.updateCount();
    if (this.follow.checked) this.scroll();
  }

  updateCount() {
    const total = this.pre.childElementCount;
    const shown = this.filter.value.trim()
      ? this.pre.querySelectorAll(".line:not([hidden])").length
      : total;
    this.count.textContent = shown === total ? `${total} lines` : `${shown} of ${total} lines`;
  }

  scroll() {
    this.pre.scrollTop = this.pre.scrollHeight;
  }
}
