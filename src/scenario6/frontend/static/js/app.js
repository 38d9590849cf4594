// Wires the page together: configuration, controls, microphone → encoder → session,
// session → player and transcript, and the status, meters and latency figures.
import { OpusPageEncoder, encoderConfig } from "./encoder.js";
import { SettingsForm } from "./form.js";
import { LatencyMeter } from "./latency.js";
import { Microphone, meterLevel } from "./mic.js";
import { Player } from "./player.js";
import { Session } from "./session.js";
import { microphoneProblem, missingFeatures, secureContextProblem } from "./support.js";
import { setupTheme } from "./theme.js";
import { Transcript } from "./transcript.js";
import * as view from "./ui.js";

const ui = view.elements();
const latency = new LatencyMeter();
const transcript = new Transcript(ui.transcript);
const SPEAKING_LEVEL = 0.01;

let config = null;
let form = null;
let session = null;
let audio = null; // {context, mic, player, encoderConfig} while running
let encoder = null; // one per live session: each session is a new Ogg stream
let running = false;
let lastStats = null;
let appliedPrompts = null;
let generation = 0; // bumped by every stop, so a start still awaiting the microphone gives up

// Diagnostics for tests and benchmarks: every figure here is counted where it happens.
const diagnostics = {
  state: "idle",
  backendKind: null,
  sentAudioMessages: 0,
  receivedAudioMessages: 0,
  textPieces: 0,
  playedSamples: 0,
  sampleRate: null,
  player: null,
  latency,
  oggErrors: 0,
  onsets: { mic: 0, speaker: 0 },
};
globalThis.scenario6 = diagnostics;

function log(message, level = "info") {
  view.addLog(ui, message, level);
}

function prompts() {
  return form.values();
}

function setLoopback(isLoopback) {
  ui.banners.loopback.hidden = !isLoopback;
  latency.mode = isLoopback ? "echo" : "reply";
}

async function init() {
  setupTheme(ui.theme);
  const insecure = secureContextProblem();
  ui.banners.insecure.hidden = !insecure;
  try {
    const response = await fetch("/api/config", { cache: "no-store" });
    if (response.status === 401) {
      notSignedIn(await response.json().catch(() => ({})));
      return;
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    config = await response.json();
  } catch (error) {
    view.showStatus(ui, "error", { reason: "the app server is unreachable" });
    view.showError(ui, "Cannot load the configuration.", `Reload the page when the server is back (${error.message}).`);
    return;
  }
  ui.version.textContent = `${config.service} ${config.version}`;
  view.showIdentity(ui, config.access);
  ui.signout.addEventListener("click", signOut);
  form = new SettingsForm(ui, config, () => {
    ui.toggle.disabled = !running && !form.complete;
    offerRestart();
  });
  setLoopback(config.loopback === true);
  ui.toggle.addEventListener("click", () => (running ? stop() : start()));
  ui.restartNow.addEventListener("click", restart);
  ui.restartLater.addEventListener("click", () => (ui.banners.restart.hidden = true));
  if (insecure) {
    // Browsers hide the microphone and WebCodecs from insecure pages: nothing else to check.
    view.showStatus(ui, "error", { reason: "this page needs HTTPS" });
    log(insecure, "error");
    return;
  }
  const missing = await missingFeatures();
  if (missing.length) {
    view.showStatus(ui, "error", { reason: "this browser is not supported" });
    view.showError(ui, "This browser cannot run the voice client.", `Missing: ${missing.join(", ")}. Use Chrome or Edge 94+, Firefox 130+ or Safari 26+.`);
    log(`unsupported browser, missing ${missing.join(", ")}`, "error");
    return;
  }
  ui.toggle.disabled = !form.complete;
  view.showStatus(ui, "idle");
  log(`ready: ${config.backends.length} model server(s) configured${config.loopback ? " (loopback)" : ""}`);
}

// The access gate let the page through (a cached copy, or a sign-in that has since expired)
// but not the configuration: sign in again, or say who to ask when there is no sign-in page.
function notSignedIn(body) {
  const signin = body?.detail?.signin;
  if (signin) {
    location.replace(signin);
    return;
  }
  view.showStatus(ui, "error", { reason: "not signed in" });
  view.showError(ui, "Not signed in.", "Open this app through its sign-in proxy.");
}

async function signOut() {
  if (running) stop();
  await fetch("/api/signout", { method: "POST", credentials: "same-origin" }).catch(() => {});
  location.replace("/signin");
}

function offerRestart() {
  if (!running || !appliedPrompts) return;
  const now = prompts();
  ui.banners.restart.hidden = now.voice === appliedPrompts.voice && now.persona === appliedPrompts.persona;
}

async function start() {
  if (running) return;
  running = true;
  view.hideError(ui);
  view.showRunning(ui, true);
  view.showStatus(ui, "starting");
  const startedAs = generation;
  let started;
  try {
    started = await startAudio();
  } catch (error) {
    if (startedAs !== generation) return;
    const reason = error.name?.endsWith("Error") && error.name !== "Error" ? microphoneProblem(error) : `${error.message}`;
    log(`could not start audio: ${error.name}: ${error.message}`, "error");
    stop();
    view.showStatus(ui, "error", { reason: error.name === "NotAllowedError" ? "microphone access denied" : "audio could not start" });
    view.showError(ui, "Microphone problem.", reason);
    return;
  }
  if (startedAs !== generation) {
    // Stopped while the microphone was starting.
    started.mic.stop();
    started.player.stop();
    started.context.close();
    return;
  }
  audio = started;
  session = new Session({
    path: config.session.path,
    eventsParam: config.session.events_param,
    protocol: config.protocol,
  });
  session.addEventListener("state", ({ detail }) => onState(detail));
  session.addEventListener("log", ({ detail }) => log(detail.message));
  session.addEventListener("audio", ({ detail }) => {
    diagnostics.receivedAudioMessages += 1;
    audio?.player.receive(detail.bytes, detail.receivedAt);
  });
  session.addEventListener("text", ({ detail }) => {
    diagnostics.textPieces += 1;
    transcript.add(detail.piece);
  });
  session.addEventListener("event", ({ detail }) => {
    if (detail.type === "backend") {
      diagnostics.backendKind = detail.kind;
      setLoopback(detail.kind === "loopback");
    }
  });
  appliedPrompts = prompts();
  ui.banners.restart.hidden = true;
  transcript.clear();
  session.start(appliedPrompts);
}

async function startAudio() {
  const context = new AudioContext({ latencyHint: "interactive" });
  await context.audioWorklet.addModule("/static/js/worklets/capture-processor.js");
  await context.audioWorklet.addModule("/static/js/worklets/player-processor.js");
  const opus = await encoderConfig(config.audio.sample_rate);
  const mic = new Microphone(context, {
    onFrame,
    onOnset: (e) => {
      diagnostics.onsets.mic += 1;
      latency.micOnset(e);
    },
  });
  const player = new Player(context, {
    frameMs: config.audio.frame_ms,
    onStats,
    onStarted: ({ receivedAt, playedAt }) => latency.add("wireToSpeaker", playedAt - receivedAt),
    onOnset: (e) => {
      diagnostics.onsets.speaker += 1;
      latency.speakerOnset(e);
    },
    onError: (error) => log(`audio decoder error: ${error.message}`, "error"),
  });
  try {
    const { label } = await mic.start();
    log(`microphone: ${label} (${context.sampleRate} Hz audio clock)`);
    player.start();
    await context.resume();
  } catch (error) {
    mic.stop();
    await context.close();
    throw error;
  }
  diagnostics.sampleRate = context.sampleRate;
  diagnostics.outputLatencyMs = (context.outputLatency || 0) * 1000;
  diagnostics.baseLatencyMs = (context.baseLatency || 0) * 1000;
  return { context, mic, player, encoderConfig: opus };
}

function onFrame({ samples, envelope }, capturedAt) {
  view.showMicLevel(ui, meterLevel(samples));
  if (!encoder || !session?.live) return;
  latency.micEnvelope(envelope);
  encoder.push(samples, capturedAt);
}

function onPage(bytes, captures) {
  const sentAt = performance.now();
  if (!session?.sendAudio(bytes)) return;
  diagnostics.sentAudioMessages += 1;
  for (const capturedAt of captures) latency.add("micToWire", sentAt - capturedAt);
}

function onStats(stats) {
  lastStats = stats;
  if (encoder) latency.speakerEnvelope(stats.envelope);
  diagnostics.playedSamples = stats.played;
  diagnostics.player = { ...stats, envelope: undefined };
  view.showSpeaking(ui, stats.playing && stats.level > SPEAKING_LEVEL);
  view.showLatency(ui, latency, session?.live ? stats : null);
}

function onState(detail) {
  const { state } = detail;
  diagnostics.state = state;
  view.showStatus(ui, state, detail);
  if (state === "live") {
    view.hideError(ui);
    encoder = new OpusPageEncoder(audio.context.sampleRate, audio.encoderConfig, onPage);
    encoder.onError = (error) => log(`audio encoder error: ${error.message}`, "error");
    transcript.note(`Live with ${appliedPrompts.voice}`);
  } else {
    closeStream();
  }
  if (state === "reconnecting" && detail.reason) log(`reconnecting: ${detail.reason}`, "warn");
  if (state === "error") {
    log(detail.reason, "error");
    view.showError(ui, "The conversation stopped.", detail.reason);
    teardown();
  }
}

function closeStream() {
  if (encoder) {
    encoder.close();
    encoder = null;
    transcript.endTurn();
  }
  if (audio) {
    diagnostics.oggErrors += audio.player.oggErrors;
    audio.player.reset();
  }
  latency.reset();
}

function teardown() {
  running = false;
  closeStream();
  if (audio) {
    audio.mic.stop();
    audio.player.stop();
    audio.context.close();
    audio = null;
  }
  view.showRunning(ui, false);
  view.showMicLevel(ui, 0);
  view.showSpeaking(ui, false);
  ui.banners.restart.hidden = true;
  ui.toggle.disabled = !form.complete;
}

function stop() {
  generation += 1;
  const wasLive = session?.live;
  session?.stop();
  session = null;
  teardown();
  view.showStatus(ui, "idle");
  if (wasLive) transcript.note("Conversation ended");
  log("stopped");
}

function restart() {
  ui.banners.restart.hidden = true;
  if (!session) return;
  log("restarting with the new voice and persona");
  session.stop();
  closeStream();
  appliedPrompts = prompts();
  transcript.note(`Restarting with ${appliedPrompts.voice}`);
  session.start(appliedPrompts);
}

setInterval(() => {
  if (session?.live) latency.measureEcho();
  view.showLatency(ui, latency, session?.live ? lastStats : null);
}, 1000);
init();
