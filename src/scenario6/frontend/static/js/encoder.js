// Microphone frames → 24 kHz mono Opus (WebCodecs AudioEncoder, 20 ms packets) → Ogg pages
// of two packets. The first page handed out carries the OpusHead and OpusTags pages in front.
import { OggOpusWriter, concat, parseOpusHead } from "./ogg.js";
import { StreamResampler } from "./resampler.js";

export const OPUS_RATE = 24000;
const FRAME = OPUS_RATE / 50; // 20 ms
const BASE_CONFIG = { codec: "opus", sampleRate: OPUS_RATE, numberOfChannels: 1, bitrate: 32000 };

/** The richest Opus encoder configuration this browser accepts. */
export async function encoderConfig() {
  const wanted = { ...BASE_CONFIG, opus: { frameDuration: 20000, complexity: 5, application: "voip" } };
  for (const config of [wanted, BASE_CONFIG]) {
    try {
      const { supported } = await AudioEncoder.isConfigSupported(config);
      if (supported) return config;
    } catch {
      // an unknown member: try the plainer configuration
    }
  }
  throw new Error("this browser cannot encode Opus at 24 kHz");
}

export class OpusPageEncoder {
  constructor(inputRate, config, onPage) {
    this.onPage = onPage;
    this.resampler = new StreamResampler(inputRate, OPUS_RATE);
    this.writer = new OggOpusWriter({ packetsPerPage: 2 });
    this.pending = new Float32Array(0);
    this.samples = 0; // 24 kHz samples handed to the encoder
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
    for (; offset + FRAME <= all.length; offset += FRAME) {
      const timestamp = Math.round((this.samples / OPUS_RATE) * 1e6);
      this.captured.set(timestamp, capturedAt);
      const data = new AudioData({
        format: "f32-planar",
        sampleRate: OPUS_RATE,
        numberOfFrames: FRAME,
        numberOfChannels: 1,
        timestamp,
        data: all.slice(offset, offset + FRAME),
      });
      this.encoder.encode(data);
      data.close();
      this.samples += FRAME;
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
      this.headers = this.writer.headerPages({ channels: 1, preSkip: head?.preSkip ?? 312, inputSampleRate: OPUS_RATE });
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
