// Unit tests for the Ogg Opus writer and reader the browser client uses.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  FLAG_BOS,
  FLAG_CONTINUED,
  OggOpusReader,
  OggOpusWriter,
  buildPage,
  concat,
  crc32,
  opusPacketSamples,
  parseOpusHead,
  readPage,
} from "../../src/scenario6/frontend/static/js/ogg.js";

const ascii = (s) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const u32 = (page, offset) => new DataView(page.buffer, page.byteOffset).getUint32(offset, true);

// A 20 ms CELT-only packet at full band (config 31, code 0) and a 20 ms SILK one (config 1).
const celt20 = (n, fill = 7) => Uint8Array.from({ length: n }, (_, i) => (i === 0 ? 31 << 3 : (i * fill) & 0xff));
const silk20 = (n) => Uint8Array.from({ length: n }, (_, i) => (i === 0 ? 1 << 3 : i & 0xff));

test("crc32 is Ogg's CRC (not reflected, init 0, no final xor)", () => {
  // CRC-32/CKSUM's check value is 0x765E7680; Ogg's variant differs only by its final xor.
  assert.equal(crc32(ascii("123456789")), (0x765e7680 ^ 0xffffffff) >>> 0);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

test("a page's CRC is computed with the CRC field zeroed", () => {
  const page = buildPage({ flags: 0, granule: 960, serial: 42, sequence: 3, packets: [celt20(50)] });
  const stored = u32(page, 22);
  const copy = page.slice();
  copy.fill(0, 22, 26);
  assert.equal(crc32(copy), stored);
});

test("page header fields: capture, version, flags, granule, serial, sequence, lacing", () => {
  const packets = [celt20(300), celt20(10)];
  const page = buildPage({ flags: FLAG_BOS, granule: 2 ** 40 + 5, serial: 0xdeadbeef, sequence: 9, packets });
  assert.deepEqual([...page.subarray(0, 4)], [...ascii("OggS")]);
  assert.equal(page[4], 0);
  assert.equal(page[5], FLAG_BOS);
  assert.equal(u32(page, 6) + u32(page, 10) * 2 ** 32, 2 ** 40 + 5);
  assert.equal(u32(page, 14), 0xdeadbeef);
  assert.equal(u32(page, 18), 9);
  assert.deepEqual([...page.subarray(26, 30)], [3, 255, 45, 10]);
  assert.equal(page.length, 27 + 3 + 310);
});

test("a packet whose length is a multiple of 255 ends with a zero lacing value", () => {
  const page = buildPage({ serial: 1, sequence: 0, packets: [celt20(255)] });
  assert.deepEqual([...page.subarray(26, 29)], [2, 255, 0]);
  const parsed = readPage(page);
  assert.equal(parsed.packets.length, 1);
  assert.equal(parsed.packets[0].length, 255);
  assert.equal(parsed.continuedLast, false);
});

test("the writer: OpusHead (BOS) page, OpusTags page, then pages of two packets", () => {
  const writer = new OggOpusWriter({ serial: 1234 });
  const headers = writer.headerPages({ channels: 1, preSkip: 312, inputSampleRate: 24000 });
  const first = readPage(headers, 0);
  const second = readPage(headers, first.end);
  assert.equal(second.end, headers.length);
  assert.equal(first.flags, FLAG_BOS);
  assert.equal(first.sequence, 0);
  assert.equal(first.granule, 0);
  assert.equal(first.packets.length, 1);
  assert.deepEqual(parseOpusHead(first.packets[0]), { version: 1, channels: 1, preSkip: 312, inputSampleRate: 24000 });
  assert.equal(second.flags, 0);
  assert.equal(second.sequence, 1);
  assert.equal(second.granule, 0);
  assert.equal(new TextDecoder().decode(second.packets[0].subarray(0, 8)), "OpusTags");

  assert.equal(writer.addPacket(celt20(60)), null);
  const page2 = readPage(writer.addPacket(celt20(70)));
  assert.equal(page2.sequence, 2);
  assert.equal(page2.granule, 1920); // two 20 ms packets at 48 kHz
  assert.equal(page2.serial, 1234);
  assert.deepEqual(page2.packets.map((p) => p.length), [60, 70]);
  writer.addPacket(silk20(40));
  const page3 = readPage(writer.addPacket(silk20(41)));
  assert.equal(page3.sequence, 3);
  assert.equal(page3.granule, 3840);
  const last = readPage(writer.flush({ eos: true }));
  assert.equal(last.flags & 0x04, 0x04);
  assert.equal(last.sequence, 4);
  assert.equal(last.granule, 3840);
});

test("packet durations come from the TOC byte", () => {
  assert.equal(opusPacketSamples(celt20(10)), 960);
  assert.equal(opusPacketSamples(silk20(10)), 960);
  assert.equal(opusPacketSamples(Uint8Array.of((16 << 3) | 0)), 120); // CELT 2.5 ms
  assert.equal(opusPacketSamples(Uint8Array.of((3 << 3) | 1, 0)), 5760); // 2 × SILK 60 ms
  assert.equal(opusPacketSamples(Uint8Array.of((31 << 3) | 3, 3)), 2880); // 3 × CELT 20 ms
  assert.equal(opusPacketSamples(Uint8Array.of((13 << 3) | 0)), 960); // hybrid 20 ms
  assert.equal(opusPacketSamples(new Uint8Array(0)), 0);
});

function stream() {
  const writer = new OggOpusWriter({ serial: 77 });
  const parts = [writer.headerPages({ preSkip: 312 })];
  const packets = [];
  for (let i = 0; i < 6; i++) {
    const packet = celt20(20 + i * 13, i + 1);
    packets.push(packet);
    const page = writer.addPacket(packet);
    if (page) parts.push(page);
  }
  return { bytes: concat(parts), packets };
}

test("the reader returns head, tags and audio packets however the bytes are split", () => {
  const { bytes, packets } = stream();
  for (const size of [1, 3, 7, 27, 100, bytes.length]) {
    const reader = new OggOpusReader();
    const items = [];
    for (let i = 0; i < bytes.length; i += size) items.push(...reader.push(bytes.subarray(i, i + size)));
    assert.deepEqual(items.map((i) => i.type), ["head", "tags", "audio", "audio", "audio", "audio", "audio", "audio"]);
    assert.deepEqual(items.filter((i) => i.type === "audio").map((i) => [...i.packet]), packets.map((p) => [...p]));
    assert.equal(reader.errors, 0, `split ${size}`);
    assert.equal(reader.head.preSkip, 312);
  }
});

test("the reader skips a corrupted page and resynchronises", () => {
  const { bytes } = stream();
  const corrupted = bytes.slice();
  const first = readPage(corrupted, 0);
  const second = readPage(corrupted, first.end);
  corrupted[second.end + 30] ^= 0xff; // inside the first audio page
  const reader = new OggOpusReader();
  const items = reader.push(concat([Uint8Array.of(1, 2, 3), corrupted]));
  assert.deepEqual(items.map((i) => i.type), ["head", "tags", "audio", "audio", "audio", "audio"]);
  assert.ok(reader.errors >= 2);
});

test("the reader joins a packet continued on the next page", () => {
  const big = celt20(600);
  const firstPart = big.subarray(0, 510);
  const rest = big.subarray(510);
  // Page 1: lacing 255, 255 (continues); page 2: the remaining 90 bytes, flagged continued.
  const p1 = buildPage({ serial: 5, sequence: 2, packets: [firstPart.subarray(0, 255), firstPart.subarray(255)] });
  // buildPage ends each packet; craft the continuation lacing by hand instead.
  const raw = new Uint8Array(27 + 2 + 510);
  raw.set(p1.subarray(0, 27), 0);
  raw[26] = 2;
  raw.set([255, 255], 27);
  raw.set(firstPart, 29);
  raw.fill(0, 22, 26);
  new DataView(raw.buffer).setUint32(22, crc32(raw), true);
  const p2 = buildPage({ flags: FLAG_CONTINUED, serial: 5, sequence: 3, packets: [rest] });
  const reader = new OggOpusReader();
  const items = [...reader.push(raw), ...reader.push(p2)];
  assert.equal(items.length, 1);
  assert.deepEqual([...items[0].packet], [...big]);
  assert.equal(reader.errors, 0);
});

test("sphn 0.1-style (one 80 ms page) and 0.2-style (two 40 ms pages) streams both parse", () => {
  for (const pagesPerFrame of [1, 2]) {
    const writer = new OggOpusWriter({ serial: 9, packetsPerPage: 4 / pagesPerFrame });
    const parts = [writer.headerPages({ inputSampleRate: pagesPerFrame === 1 ? 24000 : 48000 })];
    for (let i = 0; i < 8; i++) {
      const page = writer.addPacket(celt20(30));
      if (page) parts.push(page);
    }
    const reader = new OggOpusReader();
    const items = reader.push(concat(parts));
    assert.equal(items.filter((i) => i.type === "audio").length, 8);
    assert.equal(reader.pages, 2 + 2 * pagesPerFrame);
  }
});
