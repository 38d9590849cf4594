// Everything that touches the page's elements. Server and user text only ever goes in
// through textContent or form values, never as markup.

const $ = (id) => document.getElementById(id);

export function elements() {
  return {
    status: $("status"),
    statusText: $("status-text"),
    theme: $("theme"),
    voice: $("voice"),
    presets: $("presets"),
    persona: $("persona"),
    personaCount: $("persona-count"),
    toggle: $("toggle"),
    toggleText: $("toggle-text"),
    micLevel: $("mic-level"),
    speaking: $("speaking"),
    speakingText: $("speaking-text"),
    transcript: $("transcript"),
    sessionNote: $("session-note"),
    latency: { rt: $("lat-rt"), rtLabel: $("lat-rt-label"), mic: $("lat-mic"), spk: $("lat-spk"), buf: $("lat-buf") },
    banners: {
      loopback: $("banner-loopback"),
      insecure: $("banner-insecure"),
      error: $("banner-error"),
      restart: $("banner-restart"),
    },
    errorTitle: $("banner-error-title"),
    errorText: $("banner-error-text"),
    restartNow: $("restart-now"),
    restartLater: $("restart-later"),
    log: $("log"),
    logCount: $("log-count"),
    version: $("footer-version"),
    identity: $("identity"),
    identityName: $("identity-name"),
    signout: $("signout"),
  };
}

export function statusText(state, detail = {}) {
  switch (state) {
    case "idle": return "Ready";
    case "starting": return "Starting microphone…";
    case "connecting": return "Connecting…";
    case "waiting": return "Connected, waiting for a model server…";
    case "queued": return `Queued #${detail.position}`;
    case "warming": return "Warming up…";
    case "live": return "Live";
    case "reconnecting":
      if (detail.delayMs !== undefined) {
        return `Reconnecting in ${Math.max(1, Math.round(detail.delayMs / 1000))} s — ${detail.reason}`;
      }
      return `Reconnecting (attempt ${detail.attempt})…`;
    case "error": return `Error: ${detail.reason}`;
    default: return state;
  }
}

export function showStatus(ui, state, detail) {
  ui.status.dataset.state = state;
  const text = statusText(state, detail);
  ui.statusText.textContent = text;
  ui.status.title = text;
  const note = sessionNote(state, detail);
  ui.sessionNote.textContent = note ?? "";
  ui.sessionNote.hidden = note === null;
}

// What a waiting user wants to know, next to the conversation.
function sessionNote(state, detail = {}) {
  switch (state) {
    case "waiting":
      return "Connected. Looking for a free model server…";
    case "queued":
      return `Every model server is busy. You are number ${detail.position} in the queue; the conversation starts as soon as a server is free.`;
    case "warming":
      return "A model server is getting ready: it is taking in the voice and the persona. This can take a few seconds.";
    case "reconnecting":
      return "The connection dropped. Reconnecting automatically; your settings are kept.";
    default:
      return null;
  }
}

// Who is signed in, with a sign-out button for a cookie sign-in (a proxy's user signs out there).
export function showIdentity(ui, access) {
  if (!access?.gate) return;
  ui.identityName.textContent = access.identity ? `Signed in as ${access.identity}` : "Signed in";
  ui.signout.hidden = !access.signout;
  ui.identity.hidden = false;
}

export function showError(ui, title, text) {
  ui.errorTitle.textContent = title;
  ui.errorText.textContent = text;
  ui.banners.error.hidden = false;
}

export function hideError(ui) {
  ui.banners.error.hidden = true;
}

export function fillVoices(select, voices, selected) {
  select.replaceChildren();
  for (const group of voices.groups) {
    const optgroup = document.createElement("optgroup");
    optgroup.label = group.label;
    for (const name of group.voices) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = `${name} · ${group.label}`;
      optgroup.append(option);
    }
    select.append(optgroup);
  }
  const known = voices.groups.some((g) => g.voices.includes(selected));
  select.value = known ? selected : voices.default;
  select.disabled = false;
}

export function fillPresets(container, presets, onPick) {
  container.replaceChildren();
  for (const preset of presets) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = preset.label;
    button.dataset.id = preset.id;
    button.setAttribute("aria-pressed", "false");
    button.addEventListener("click", () => onPick(preset));
    container.append(button);
  }
}

export function markPreset(container, presets, text) {
  for (const button of container.children) {
    const preset = presets.find((p) => p.id === button.dataset.id);
    button.setAttribute("aria-pressed", String(preset?.prompt === text));
  }
}

export function showCount(element, length, max) {
  element.textContent = `${length} / ${max}`;
  element.dataset.level = length >= max ? "full" : length >= max * 0.9 ? "near" : "ok";
}

export function showRunning(ui, running) {
  ui.toggle.dataset.running = String(running);
  ui.toggleText.textContent = running ? "Stop" : "Start conversation";
  ui.toggle.setAttribute("aria-pressed", String(running));
}

export function showMicLevel(ui, level) {
  const percent = Math.round(level * 100);
  ui.micLevel.firstElementChild.style.width = `${percent}%`;
  ui.micLevel.setAttribute("aria-valuenow", String(percent));
}

export function showSpeaking(ui, active) {
  if (ui.speaking.dataset.active === String(active)) return;
  ui.speaking.dataset.active = String(active);
  ui.speakingText.textContent = active ? "Model speaking" : "Model quiet";
}

const ms = (summary) => (summary ? `${Math.round(summary.median)} ms` : "—");

export function showLatency(ui, meter, stats) {
  ui.latency.rtLabel.textContent = meter.mode === "echo" ? "Echo round trip" : "Reply time";
  ui.latency.rt.textContent = ms(meter.summary("roundTrip"));
  ui.latency.mic.textContent = ms(meter.summary("micToWire"));
  ui.latency.spk.textContent = ms(meter.summary("wireToSpeaker"));
  ui.latency.buf.textContent = stats
    ? `${Math.round(stats.bufferedMs)} / ${Math.round(stats.targetMs)} ms`
    : "—";
}

const LOG_KEEP = 300;

export function addLog(ui, message, level = "info") {
  const item = document.createElement("li");
  item.dataset.level = level;
  const time = document.createElement("time");
  time.textContent = new Date().toLocaleTimeString([], { hour12: false });
  const text = document.createElement("span");
  text.textContent = message;
  item.append(time, text);
  ui.log.append(item);
  while (ui.log.children.length > LOG_KEEP) ui.log.firstElementChild.remove();
  ui.log.scrollTop = ui.log.scrollHeight;
  ui.logCount.textContent = String(Number(ui.logCount.textContent) + 1);
}
