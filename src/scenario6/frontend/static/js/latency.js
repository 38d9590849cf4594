// Real latency figures, each from timestamps taken where the audio actually passes:
// - micToWire: a 20 ms microphone frame is complete → its Ogg page is handed to the socket;
// - wireToSpeaker: an audio message arrives → its first sample reaches the speaker;
// - roundTrip: with the loopback backend, how far the speaker's sound lags the microphone's
//   (their envelopes lined up, see echo.js); with the model, the time from the end of your
//   speech to the start of its reply. Both ends are read on the AudioContext clock.
import { EchoDelay } from "./echo.js";

const KEEP = 3000; // a few minutes of every figure

export class LatencyMeter {
  constructor() {
    this.samples = { micToWire: [], wireToSpeaker: [], roundTrip: [] };
    this.totals = { micToWire: 0, wireToSpeaker: 0, roundTrip: 0 }; // including dropped ones
    this.mode = "echo"; // or "reply"
    this.micOff = []; // context times where your speech ended
    this.echo = new EchoDelay();
  }

  micEnvelope(points) {
    this.echo.addMic(points);
  }

  speakerEnvelope(points) {
    this.echo.addSpeaker(points);
  }

  /** Called about once a second while live: one echo measurement when the envelopes agree. */
  measureEcho() {
    if (this.mode !== "echo") return null;
    const found = this.echo.estimate();
    if (found) this.add("roundTrip", found.ms);
    return found;
  }

  add(name, ms) {
    if (!Number.isFinite(ms) || ms < 0) return;
    const list = this.samples[name];
    list.push(ms);
    this.totals[name] += 1;
    if (list.length > KEEP) list.shift();
  }

  micOnset({ type, time }) {
    if (type !== "off") return;
    this.micOff.push(time);
    if (this.micOff.length > 20) this.micOff.shift();
  }

  /** A sound started at the speaker: pair it with the end of speech it answers. */
  speakerOnset({ type, time }) {
    if (type !== "on" || this.mode !== "reply") return;
    const source = this.micOff;
    // The latest microphone event before this sound, if recent enough to be its cause.
    const candidates = source.filter((t) => t < time && time - t < 3);
    if (candidates.length === 0) return;
    const cause = candidates[candidates.length - 1];
    this.add("roundTrip", (time - cause) * 1000);
    source.splice(0, source.indexOf(cause) + 1);
  }

  reset() {
    this.micOff = [];
    this.echo.reset();
  }

  summary(name, last = 20) {
    return summarize(this.samples[name].slice(-last));
  }

  all() {
    const out = {};
    for (const name of Object.keys(this.samples)) out[name] = summarize(this.samples[name]);
    return out;
  }
}

export function summarize(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { count: sorted.length, min: sorted[0], median, max: sorted[sorted.length - 1] };
}
