// The server's audio: Ogg pages → Opus packets → WebCodecs AudioDecoder (which outputs
// 48 kHz) → resampled to the AudioContext's rate → the player worklet's jitter buffer.
import { OggOpusReader, opusPacketSamples } from "./ogg.js";
import { StreamResampler } from "./resampler.js";

const DECODE_RATE = 48000;

export class Player {
  /** `frameMs`: the model's frame (/api/config's audio.frame_ms). The server sends audio a
   * frame at a time, so playback starts once one frame is buffered. */
  constructor(context, { frameMs, onStats, onStarted, onOnset, onError }) {
    this.context = context;
    this.frameMs = frameMs;
    this.onStats = onStats;
    this.onStarted = onStarted;
    this.onOnset = onOnset;
    this.onError = onError;
    this.node = null;
    // One entry per packet in decoding order: when its message arrived (first packet of a
    // message only), so outputs, which come in order, can be matched without timestamps.
    this.arrivals = [];
    this.reset();
  }

  start() {
    this.node = new AudioWorkletNode(this.context, "scenario6-player", {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      processorOptions: { startMs: this.frameMs },
    });
    this.node.port.onmessage = ({ data }) => {
      if (data.type === "stats") this.onStats(data);
      else if (data.type === "started") this.#started(data);
      else if (data.type === "onset") this.onOnset(data.event);
    };
    this.node.connect(this.context.destination);
  }

  /** Forgets the current stream: a new session starts a new Ogg stream and a new decoder. */
  reset() {
    this.reader = new OggOpusReader();
    this.#closeDecoder();
    this.timestamp = 0;
    this.resampler = null;
    this.arrivals = [];
    this.node?.port.postMessage({ type: "reset" });
  }

  stop() {
    this.reset();
    this.node?.disconnect();
    this.node?.port.close();
    this.node = null;
  }

  get oggErrors() {
    return this.reader.errors;
  }

  /** One audio message's payload: whole Ogg pages, parsed without trusting their granules. */
  receive(bytes, receivedAt) {
    let first = true;
    for (const item of this.reader.push(bytes)) {
      if (item.type === "head") this.#configure(item.head.channels);
      if (item.type !== "audio" || item.packet.length === 0) continue;
      // A stream whose header we never saw, or a decoder that closed itself after an error.
      if (!this.decoder || this.decoder.state === "closed") this.#configure(this.reader.head?.channels ?? 1);
      // Tag the first packet of each message to time its way to the speaker.
      this.arrivals.push(first ? receivedAt : null);
      first = false;
      const timestamp = Math.round(this.timestamp);
      this.decoder.decode(new EncodedAudioChunk({ type: "key", timestamp, data: item.packet }));
      this.timestamp += (opusPacketSamples(item.packet) / DECODE_RATE) * 1e6;
    }
  }

  #configure(channels) {
    this.#closeDecoder();
    this.decoder = new AudioDecoder({
      output: (data) => this.#output(data),
      error: (error) => this.onError(error),
    });
    this.decoder.configure({ codec: "opus", sampleRate: DECODE_RATE, numberOfChannels: channels });
  }

  #closeDecoder() {
    if (this.decoder && this.decoder.state !== "closed") this.decoder.close();
    this.decoder = null;
    this.arrivals = []; // its pending outputs are gone with it
  }

  #output(data) {
    const samples = new Float32Array(data.numberOfFrames);
    data.copyTo(samples, { planeIndex: 0, format: "f32-planar" });
    if (!this.resampler || this.resampler.inRate !== data.sampleRate) {
      this.resampler = new StreamResampler(data.sampleRate, this.context.sampleRate);
    }
    const tag = this.arrivals.shift() ?? null;
    data.close();
    const out = this.resampler.process(samples);
    this.node?.port.postMessage({ type: "audio", samples: out, tag }, [out.buffer]);
  }

  #started({ tag, time }) {
    this.onStarted({ receivedAt: tag, playedAt: contextToPerformance(this.context, time) });
  }
}

/** The performance.now() at which a sample rendered at context time `t` reaches the speaker. */
export function contextToPerformance(context, t) {
  const stamp = context.getOutputTimestamp?.();
  if (stamp && stamp.performanceTime > 0) return stamp.performanceTime + (t - stamp.contextTime) * 1000;
  return performance.now() + (t - context.currentTime) * 1000 + (context.outputLatency || 0) * 1000;
}
