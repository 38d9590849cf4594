// Microphone frames → mono Opus at the protocol's rate (/api/config's audio.sample_rate,
// 24 kHz for PersonaPlex; WebCodecs AudioEncoder, 20 ms packets) → Ogg pages of two packets.
// The first page handed out carries the OpusHead and OpusTags pages in front.
import { OggOpusWriter, concat, parseOpusHead } from "./ogg.js";
import { StreamResampler } from "./resampler.js";

/** The richest Opus encoder configuration at `sampleRate` that this browser accepts. */
export async function encoderConfig(sampleRate) {
  const base = { codec: "opus", sampleRate, numberOfChannels: 1, bitrate: 32000 };
  const wanted = { ...base, opus: { frameDuration: 20000, complexity: 5, application: "voip" } };
  for (const config of [wanted, base]) {
    try {
      const { supported } = await AudioEncoder.isConfigSupported(config);
      if (supported) return config;
    } catch {
      // an unknown member: try the plainer configuration
    }
  }
  throw new Error(`this browser cannot encode Opus at ${sampleRate / 1000} kHz`);
}

export class OpusPageEncoder {
  /** `config` comes from encoderConfig(): the stream is at its sample rate. */
  constructor(inputRate, config, onPage) {
    this.onPage = onPage;
    this.rate = config.sampleRate;
    this.frame = this.rate / 50; // 20 ms
    this.resampler = new StreamResampler(inputRate, this.rate);
    this.writer = new OggOpusWriter({ packetsPerPage: 2 });
    this.pending = new Float32Array(0);
    this.samples = 0; // samples handed to the encoder
    this.captured = new Map(); // packet timestamp (µs) → when its frame was complete
    this.pageCaptures = [];
    this.headers = null;
    this.encoder = new AudioEncoder({
      output: (chunk, metadata) => this.#onChunk(chunk, metadata),
      error: (error) => this.onError?.(error),
    });
    this.encoder.configure(config);
  }

  /** Adds microphone samples; `capturedAt` is the performance.now() of the frame's end. */
  push(samples, capturedAt) {
    if (this.encoder.state !== "configured") return;
    const resampled = this.resampler.process(samples);
    const all = this.pending.length ? concatFloat(this.pending, resampled) : resampled;
    let offset = 0;
    for (; offset + this.frame <= all.length; offset += this.frame) {
      const timestamp = Math.round((this.samples / this.rate) * 1e6);
      this.captured.set(timestamp, capturedAt);
      const data = new AudioData({
        format: "f32-planar",
        sampleRate: this.rate,
        numberOfFrames: this.frame,
        numberOfChannels: 1,
        timestamp,
        data: all.slice(offset, offset + this.frame),
      });
      this.encoder.encode(data);
      data.close();
      this.samples += this.frame;
    }
    this.pending = all.slice(offset);
  }

  close() {
    if (this.encoder.state !== "closed") this.encoder.close();
  }

  #onChunk(chunk, metadata) {
    if (this.headers === null) {
      const description = metadata?.decoderConfig?.description;
      const head = description ? parseOpusHead(bytesOf(description)) : null;
      this.headers = this.writer.headerPages({ channels: 1, preSkip: head?.preSkip ?? 312, inputSampleRate: this.rate });
    }
    const packet = new Uint8Array(chunk.byteLength);
    chunk.copyTo(packet);
    const capturedAt = this.captured.get(chunk.timestamp);
    this.captured.delete(chunk.timestamp);
    if (capturedAt !== undefined) this.pageCaptures.push(capturedAt);
    const page = this.writer.addPacket(packet);
    if (!page) return;
    const bytes = this.headers ? concat([this.headers, page]) : page;
    this.headers = false;
    const captures = this.pageCaptures;
    this.pageCaptures = [];
    this.onPage(bytes, captures);
  }
}

function bytesOf(buffer) {
  return ArrayBuffer.isView(buffer)
    ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
    : new Uint8Array(buffer);
}

function concatFloat(a, b) {
  const out = new Float32Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
