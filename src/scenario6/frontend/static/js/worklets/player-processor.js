// Runs on the audio thread: plays decoded audio through the jitter buffer, counts what was
// really rendered, and reports when tagged chunks start playing (wire-to-speaker latency)
// and where the played sound starts and stops, with its envelope.
import { JitterBuffer } from "../jitter.js";
import { Envelope, OnsetDetector } from "../onset.js";

const STATS_EVERY = 0.05; // seconds

class PlayerProcessor extends AudioWorkletProcessor {
  constructor({ processorOptions }) {
    super();
    this.jitter = new JitterBuffer(sampleRate, { startMs: processorOptions.startMs });
    this.onsets = new OnsetDetector();
    this.envelope = new Envelope(sampleRate);
    this.points = [];
    this.lastStats = 0;
    this.level = 0;
    this.port.onmessage = ({ data }) => {
      if (data.type === "audio") this.jitter.push(data.samples, data.tag ?? null);
      else if (data.type === "reset") {
        this.jitter.reset();
        this.onsets = new OnsetDetector();
      }
    };
  }

  process(_inputs, outputs) {
    const out = outputs[0][0];
    const started = this.jitter.render(out);
    for (const { tag, offset } of started) {
      this.port.postMessage({ type: "started", tag, time: currentTime + offset / sampleRate });
    }
    const { rms, events } = this.onsets.process(out, currentTime, sampleRate);
    this.level = Math.max(rms, this.level * 0.9);
    for (const event of events) this.port.postMessage({ type: "onset", event });
    this.points.push(...this.envelope.push(out, currentTime));
    if (currentTime - this.lastStats >= STATS_EVERY) {
      this.lastStats = currentTime;
      const j = this.jitter;
      this.port.postMessage({
        type: "stats",
        played: j.played,
        bufferedMs: j.bufferedMs,
        targetMs: j.targetMs,
        underruns: j.underruns,
        dropped: j.dropped,
        playing: j.playing,
        level: this.level,
        envelope: this.points,
      });
      this.points = [];
    }
    return true;
  }
}

registerProcessor("scenario6-player", PlayerProcessor);
