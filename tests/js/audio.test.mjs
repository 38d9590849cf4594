// Unit tests for the audio-path pieces that run without a browser: the resampler, the
// jitter buffer, the onset detector and the latency pairing.
import assert from "node:assert/strict";
import { test } from "node:test";

import { JitterBuffer } from "../../src/scenario6/frontend/static/js/jitter.js";
import { LatencyMeter, summarize } from "../../src/scenario6/frontend/static/js/latency.js";
import { Envelope, OnsetDetector } from "../../src/scenario6/frontend/static/js/onset.js";
import { StreamResampler } from "../../src/scenario6/frontend/static/js/resampler.js";

const tone = (rate, hz, n, start = 0) => Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * (i + start)) / rate));
const rms = (x) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);

function resampleInChunks(inRate, outRate, input, chunk) {
  const r = new StreamResampler(inRate, outRate);
  const parts = [];
  for (let i = 0; i < input.length; i += chunk) parts.push(r.process(input.subarray(i, i + chunk)));
  return Float32Array.from(parts.flatMap((p) => [...p]));
}

test("resampling 48 kHz → 24 kHz keeps a 440 Hz tone, its length and its timing", () => {
  const input = tone(48000, 440, 48000);
  const out = resampleInChunks(48000, 24000, input, 960);
  assert.ok(Math.abs(out.length - 24000) <= 16, `length ${out.length}`);
  const expected = tone(24000, 440, out.length);
  // Skip the filter's start-up; compare sample by sample (same phase: no added delay).
  let err = 0;
  for (let i = 100; i < out.length - 100; i++) err = Math.max(err, Math.abs(out[i] - expected[i]));
  assert.ok(err < 0.01, `max error ${err}`);
});

test("resampling removes what the lower rate cannot carry (no aliasing)", () => {
  const out = resampleInChunks(48000, 24000, tone(48000, 15000, 48000), 128);
  assert.ok(rms(out.subarray(200)) < 0.01, `rms ${rms(out.subarray(200))}`);
});

test("resampling 44.1 kHz → 24 kHz and 48 kHz → 44.1 kHz in odd chunks keeps the count", () => {
  for (const [a, b] of [[44100, 24000], [48000, 44100], [24000, 48000]]) {
    const out = resampleInChunks(a, b, tone(a, 300, a), 333);
    // The filter holds back 16 input samples it has not seen the future of yet.
    assert.ok(b - out.length >= 0 && b - out.length <= 16 * (b / a) + 1, `${a}→${b}: ${out.length}`);
    assert.ok(Math.abs(rms(out.subarray(100, -100)) - 0.5 / Math.SQRT2) < 0.01);
  }
});

test("equal rates pass through unchanged", () => {
  const input = tone(48000, 100, 500);
  assert.deepEqual(new StreamResampler(48000, 48000).process(input), input);
});

function blocks(jitter, count) {
  const outs = [];
  for (let i = 0; i < count; i++) {
    const out = new Float32Array(128);
    outs.push({ out, started: jitter.render(out) });
  }
  return outs;
}

test("the jitter buffer waits for 80 ms before playing", () => {
  const jitter = new JitterBuffer(48000);
  jitter.push(new Float32Array(3000).fill(0.5), "a"); // 62.5 ms
  assert.ok(blocks(jitter, 3).every(({ out }) => out.every((v) => v === 0)));
  assert.equal(jitter.played, 0);
  jitter.push(new Float32Array(1000).fill(0.5), "b"); // now 83 ms
  const [{ out, started }] = blocks(jitter, 1);
  assert.deepEqual(started, [{ tag: "a", offset: 0 }]);
  assert.ok(out[0] > 0 && out[0] < 0.01, "fades in");
  assert.ok(out[127] > out[0] && out[127] < 0.5);
  assert.equal(blocks(jitter, 1)[0].out[127], 0.5, "at full level after the fade");
  assert.equal(jitter.played, 256);
});

test("an underrun fades out, counts, and raises the target", () => {
  const jitter = new JitterBuffer(48000);
  jitter.push(new Float32Array(3900).fill(0.5));
  const outs = blocks(jitter, 31);
  const last = outs[30].out; // 3900 = 30 × 128 + 60
  assert.ok(last[59] < 0.5 && last[59] >= 0, "fades out the tail");
  assert.equal(last[60], 0);
  assert.equal(jitter.underruns, 1);
  assert.equal(jitter.played, 3900);
  assert.equal(Math.round(jitter.targetMs), 120);
  jitter.push(new Float32Array(4800).fill(0.5)); // 100 ms < 120 ms: still waiting
  assert.ok(blocks(jitter, 1)[0].out.every((v) => v === 0));
});

test("an overflow drops the oldest audio down to the target", () => {
  const jitter = new JitterBuffer(48000);
  jitter.push(new Float32Array(10000).fill(0.1));
  assert.equal(jitter.dropped, 0);
  jitter.push(new Float32Array(10000).fill(0.9)); // 417 ms > 80 + 300 ms
  assert.equal(Math.round(jitter.bufferedMs), 80);
  assert.equal(jitter.dropped, 20000 - 3840);
  blocks(jitter, 2); // fading back in
  const [{ out }] = blocks(jitter, 1);
  assert.ok(out.every((v) => Math.abs(v - 0.9) < 1e-6), "the newest audio is kept");
});

test("onsets: sound after silence starts, silence after sound stops", () => {
  const detector = new OnsetDetector();
  const rate = 48000;
  const events = [];
  let t = 0;
  const feed = (block) => {
    events.push(...detector.process(block, t, rate).events);
    t += block.length / rate;
  };
  for (let i = 0; i < 100; i++) feed(new Float32Array(128)); // 267 ms of silence
  const loud = new Float32Array(128);
  loud.fill(0.3, 64);
  feed(loud);
  for (let i = 0; i < 50; i++) feed(new Float32Array(128).fill(0.3));
  for (let i = 0; i < 150; i++) feed(new Float32Array(128));
  assert.deepEqual(events.map((e) => e.type), ["on", "off"]);
  assert.ok(Math.abs(events[0].time - (100 * 128 + 64) / rate) < 1e-9, "onset at the first loud sample");
});

test("reply time pairs the end of your speech with the start of the answer", () => {
  const reply = new LatencyMeter();
  reply.mode = "reply";
  reply.micOnset({ type: "on", time: 1.0 });
  reply.micOnset({ type: "off", time: 2.0 });
  reply.speakerOnset({ type: "on", time: 2.4 });
  reply.speakerOnset({ type: "on", time: 2.9 }); // nothing left to pair with
  assert.deepEqual(reply.samples.roundTrip.map(Math.round), [400]);
  assert.deepEqual(summarize([5, 1, 3, 2]), { count: 4, min: 1, median: 2.5, max: 5 });
});

function speechLike(rate, seconds, seed = 1) {
  // Bursts of noise of random lengths with gaps: a stand-in for syllables and pauses.
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const out = new Float32Array(rate * seconds);
  let i = 0;
  while (i < out.length) {
    const burst = Math.floor(rate * (0.05 + random() * 0.25));
    const gap = Math.floor(rate * (0.03 + random() * 0.2));
    const level = 0.05 + random() * 0.3;
    for (let k = 0; k < burst && i < out.length; k++, i++) out[i] = level * (random() * 2 - 1);
    i += gap;
  }
  return out;
}

test("the echo delay is found by lining up the two envelopes", () => {
  const rate = 48000;
  const signal = speechLike(rate, 5);
  const delay = 0.2375; // seconds
  const meter = new LatencyMeter();
  const mic = new Envelope(rate);
  const speaker = new Envelope(rate);
  const shift = Math.round(delay * rate);
  for (let start = 0; start < signal.length; start += 128) {
    const t = start / rate;
    meter.micEnvelope(mic.push(signal.subarray(start, start + 128), t));
    const played = new Float32Array(128);
    for (let k = 0; k < 128; k++) played[k] = start + k >= shift ? 0.7 * signal[start + k - shift] : 0;
    meter.speakerEnvelope(speaker.push(played, t));
  }
  const found = meter.measureEcho();
  assert.ok(found, "an estimate");
  assert.ok(Math.abs(found.ms - delay * 1000) < 3, `${found.ms} ms`);
  assert.equal(meter.samples.roundTrip.length, 1);
  meter.mode = "reply";
  assert.equal(meter.measureEcho(), null, "no echo figure when talking to the model");
});

test("no echo delay is reported for unrelated sound", () => {
  const rate = 48000;
  const a = speechLike(rate, 5, 1);
  const b = speechLike(rate, 5, 99);
  const meter = new LatencyMeter();
  const mic = new Envelope(rate);
  const speaker = new Envelope(rate);
  for (let start = 0; start < a.length; start += 128) {
    meter.micEnvelope(mic.push(a.subarray(start, start + 128), start / rate));
    meter.speakerEnvelope(speaker.push(b.subarray(start, start + 128), start / rate));
  }
  assert.equal(meter.measureEcho(), null);
});

test("audio that never drains for a second is dropped back to the target", () => {
  const rate = 48000;
  const jitter = new JitterBuffer(rate);
  jitter.push(new Float32Array(9600).fill(0.5)); // 200 ms, then a steady supply
  let maxBuffered = 0;
  for (let i = 0; i < 2 * (rate / 128); i++) {
    if (i % 15 === 0) jitter.push(new Float32Array(1920).fill(0.5)); // 40 ms every 40 ms
    jitter.render(new Float32Array(128));
    if (i > rate / 128 + 20) maxBuffered = Math.max(maxBuffered, jitter.bufferedMs);
  }
  assert.ok(jitter.dropped > 0);
  assert.ok(maxBuffered < 80 + 45, `still ${maxBuffered} ms buffered`);
  assert.equal(jitter.underruns, 0);
});

test("after a calm spell the target relaxes back towards the start value", () => {
  const rate = 48000;
  const jitter = new JitterBuffer(rate, { relaxS: 1 });
  jitter.push(new Float32Array(3840));
  for (let i = 0; i < 31; i++) jitter.render(new Float32Array(128));
  assert.equal(Math.round(jitter.targetMs), 120);
  for (let i = 0; i < 2 * (rate / 128); i++) {
    if (i % 15 === 0) jitter.push(new Float32Array(1920));
    jitter.render(new Float32Array(128));
  }
  assert.equal(Math.round(jitter.targetMs), 80);
});
