// Wires the dashboard: the run's info, the live resources, the console log and the sessions.

import { command, getJson, stopRun, stream } from "./api.js";
import { LogView } from "./logs.js";
import { ResourceTable } from "./resources.js";
import { SessionsPanel } from "./sessions.js";

const $ = (id) => document.getElementById(id);
const notice = $("notice");
const picker = $("log-resource");

function tell(message) {
  notice.textContent = message;
  notice.hidden = !message;
}

const logs = new LogView({
  pre: $("log"), filter: $("log-filter"), follow: $("log-follow"), count: $("log-count"),
});

function select(name) {
  table.select(name);
  picker.value = name;
  logs.show(name);
}

async function run(name, verb, button) {
  button.disabled = true;
  tell("");
  try {
    await command(name, verb);
  } catch (error) {
    tell(error.message);
  } finally {
    button.disabled = false;
  }
}

const table = new ResourceTable($("resources"), { onCommand: run, onSelect: select });

function fillPicker(views) {
  const known = new Set([...picker.options].map((option) => option.value));
  for (const view of views) {
    if (!known.has(view.name)) picker.add(new Option(view.name, view.name));
  }
  if (!logs.name && views.length) select(views[views.length - 1].name);
}
picker.addEventListener("change", () => select(picker.value));

async function showInfo() {
  try {
    const app = await getJson("/api/v1/app");
    $("app-name").textContent = app.app;
    document.title = `${app.app}: run dashboard`;
    $("run-info").textContent =
      `pid ${app.pid} · ${app.phase} · since ${new Date(app.started_at * 1000).toLocaleString()}`;
  } catch (error) {
    $("run-info").textContent = `the run does not answer (${error.message})`;
  }
}

stream("/api/v1/watch", {
  snapshot: ({ resources }) => {
    table.render(resources);
    fillPicker(resources);
    showInfo();
  },
  change: ({ resource }) => {
    table.update(resource);
    fillPicker([resource]);
    showInfo();
  },
}, (connected) => {
  if (!connected) $("run-info").textContent = "disconnected: is the run still going?";
});

$("stop-run").addEventListener("click", async () => {
  if (!confirm("Stop every resource and end the run?")) return;
  try {
    await stopRun();
    tell("the run is stopping");
  } catch (error) {
    tell(error.message);
  }
});

new SessionsPanel({
  live: $("sessions-live"), queued: $("sessions-queued"), table: $("backends"),
  note: $("sessions-note"),
}).start();
