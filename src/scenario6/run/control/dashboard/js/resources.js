// The resources table: one row per resource, updated in place as changes arrive.

const TONES = {
  running: "ok", healthy: "ok", starting: "busy", building: "busy", waiting: "busy",
  restarting: "warn", stopping: "busy", unhealthy: "bad", failed: "bad", exited: "bad",
};

// What the state cell says: an exit shows its code even while the restart is pending.
export function stateLabel(view) {
  if (view.exit_code !== null && ["restarting", "stopped", "exited"].includes(view.state)) {
    return view.state === "restarting"
      ? `exited (code ${view.exit_code}), restarting`
      : `${view.state} (code ${view.exit_code})`;
  }
  if (view.state === "waiting" && view.waiting_for.length) {
    return `waiting for ${view.waiting_for.join(", ")}`;
  }
  return view.state;
}

// Which commands make sense now; the API still has the last word (409).
export function commandsFor(view) {
  const down = ["stopped", "failed"].includes(view.state);
  const verbs = { start: down, stop: !down && view.state !== "stopping", restart: true };
  if (view.kind === "container") verbs.rebuild = true;
  return verbs;
}

function badge(text, tone) {
  const span = document.createElement("span");
  span.className = "badge";
  span.dataset.tone = tone || "";
  span.textContent = text;
  return span;
}

function since(seconds) {
  if (!seconds) return "–";
  return new Date(seconds * 1000).toLocaleTimeString();
}

export class ResourceTable {
  constructor(table, { onCommand, onSelect }) {
    this.body = table.tBodies[0];
    this.rows = new Map();
    this.onCommand = onCommand;
    this.onSelect = onSelect;
    this.selected = null;
  }

  render(views) {
    this.body.replaceChildren();
    this.rows.clear();
    for (const view of views) this.update(view);
  }

  select(name) {
    this.selected = name;
    for (const [key, row] of this.rows) row.classList.toggle("selected", key === name);
  }

  update(view) {
    let row = this.rows.get(view.name);
    if (!row) {
      row = this.body.insertRow();
      row.addEventListener("click", (event) => {
        if (!event.target.closest("a, button")) this.onSelect(view.name);
      });
      this.rows.set(view.name, row);
    }
    row.dataset.resource = view.name;
    row.dataset.state = view.state;
    row.dataset.health = view.health;
    row.classList.toggle("selected", view.name === this.selected);
    row.replaceChildren(...this.cells(view));
  }

  cells(view) {
    const cell = (...content) => {
      const td = document.createElement("td");
      td.append(...content);
      return td;
    };
    const name = document.createElement("strong");
    name.textContent = view.name;

    const state = cell(badge(stateLabel(view), TONES[view.state]));
    state.className = "state";
    if (view.note) state.append(Object.assign(document.createElement("span"),
      { className: "detail", textContent: view.note }));

    const health = cell(badge(view.health, TONES[view.health]));
    health.className = "health";
    if (view.probe && !view.probe.ok && view.probe.detail) {
      health.append(Object.assign(document.createElement("span"),
        { className: "detail", textContent: view.probe.detail }));
    }

    const endpoints = cell(...view.endpoints.map((endpoint) => {
      // A browser cannot open a WebSocket address as a page: it is shown for clients to use.
      const web = /^https?:/.test(endpoint.url);
      const link = document.createElement(web ? "a" : "code");
      link.textContent = endpoint.url;
      link.title = web ? endpoint.name : `${endpoint.name}: for a WebSocket client`;
      if (web) Object.assign(link, { href: endpoint.url, target: "_blank", rel: "noopener" });
      return link;
    }));
    endpoints.className = "endpoints";

    const source = cell(view.container_id
      ? `${view.image} · ${view.container_id.slice(0, 12)}`
      : view.pid ? `pid ${view.pid}` : "–");
    source.className = "source";

    const started = cell(since(view.started_at));
    started.className = "started";

    const actions = cell();
    actions.className = "actions";
    for (const [verb, enabled] of Object.entries(commandsFor(view))) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = verb[0].toUpperCase() + verb.slice(1);
      button.dataset.command = verb;
      button.disabled = !enabled;
      button.addEventListener("click", () => this.onCommand(view.name, verb, button));
      actions.append(button, " ");
    }

    return [cell(name), cell(view.kind), state, health, endpoints,
      cell(String(view.restarts)), started, source, actions];
  }
}
