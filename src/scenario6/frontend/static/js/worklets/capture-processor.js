// Runs on the audio thread: collects microphone samples into 20 ms frames for the encoder
// with the sound's envelope, and reports where sounds start and stop (for the round trip).
import { Envelope, OnsetDetector } from "../onset.js";

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.frameSize = Math.round(sampleRate * 0.02);
    this.frame = new Float32Array(this.frameSize);
    this.filled = 0;
    this.onsets = new OnsetDetector();
    this.envelope = new Envelope(sampleRate);
    this.points = [];
  }

  process(inputs) {
    const channel = inputs[0]?.[0];
    if (!channel) return true; // no input connected yet
    const { events } = this.onsets.process(channel, currentTime, sampleRate);
    for (const event of events) this.port.postMessage({ type: "onset", event });
    this.points.push(...this.envelope.push(channel, currentTime));
    let read = 0;
    while (read < channel.length) {
      const n = Math.min(channel.length - read, this.frameSize - this.filled);
      this.frame.set(channel.subarray(read, read + n), this.filled);
      this.filled += n;
      read += n;
      if (this.filled === this.frameSize) {
        const message = { type: "frame", samples: this.frame, envelope: this.points };
        this.port.postMessage(message, [this.frame.buffer]);
        this.points = [];
        this.frame = new Float32Array(this.frameSize);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor("scenario6-capture", CaptureProcessor);
