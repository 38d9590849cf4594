// Ogg pages (RFC 3533) carrying Opus (RFC 7845): a writer for the microphone stream and a
// tolerant reader for the server's stream. Browsers cannot write Ogg through WebCodecs
// (Chromium rejects the `ogg` format option), so pages are built here byte by byte.

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 24;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
    }
    table[byte] = crc >>> 0;
  }
  return table;
})();

/** Ogg's CRC-32: polynomial 0x04C11DB7, not reflected, initial value 0, no final xor. */
export function crc32(bytes, crc = 0) {
  for (let i = 0; i < bytes.length; i++) {
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ bytes[i]) & 0xff]) >>> 0;
  }
  return crc >>> 0;
}

export const FLAG_CONTINUED = 0x01;
export const FLAG_BOS = 0x02;
export const FLAG_EOS = 0x04;
const HEADER_SIZE = 27;
const CAPTURE = [0x4f, 0x67, 0x67, 0x53]; // "OggS"

/** One page holding whole packets; granule is a 64-bit count (a Number is exact to 2^53). */
export function buildPage({ flags = 0, granule = 0, serial, sequence, packets }) {
  const lacing = [];
  for (const packet of packets) {
    let size = packet.length;
    // A packet whose length is a multiple of 255 ends with a 0 lacing value.
    while (size >= 255) {
      lacing.push(255);
      size -= 255;
    }
    lacing.push(size);
  }
  if (lacing.length > 255) throw new RangeError("packets do not fit in one Ogg page");
  const bodySize = packets.reduce((sum, p) => sum + p.length, 0);
  const page = new Uint8Array(HEADER_SIZE + lacing.length + bodySize);
  const view = new DataView(page.buffer);
  page.set(CAPTURE, 0);
  page[4] = 0; // version
  page[5] = flags;
  view.setUint32(6, granule % 0x100000000, true);
  view.setUint32(10, Math.floor(granule / 0x100000000), true);
  view.setUint32(14, serial >>> 0, true);
  view.setUint32(18, sequence >>> 0, true);
  page[26] = lacing.length;
  page.set(lacing, HEADER_SIZE);
  let offset = HEADER_SIZE + lacing.length;
  for (const packet of packets) {
    page.set(packet, offset);
    offset += packet.length;
  }
  view.setUint32(22, crc32(page), true); // computed while the CRC field is still zero
  return page;
}

const ascii = (text) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const startsWith = (bytes, magic) =>
  bytes.length >= magic.length && [...magic].every((c, i) => bytes[i] === c.charCodeAt(0));

/** The OpusHead identification packet (RFC 7845 §5.1), channel mapping family 0. */
export function opusHead({ channels = 1, preSkip = 312, inputSampleRate = 24000 } = {}) {
  const head = new Uint8Array(19);
  const view = new DataView(head.buffer);
  head.set(ascii("OpusHead"), 0);
  head[8] = 1; // version
  head[9] = channels;
  view.setUint16(10, preSkip, true);
  view.setUint32(12, inputSampleRate, true);
  view.setInt16(16, 0, true); // output gain
  head[18] = 0; // mapping family
  return head;
}

export function parseOpusHead(packet) {
  if (!startsWith(packet, "OpusHead") || packet.length < 19) return null;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  return {
    version: packet[8],
    channels: packet[9],
    preSkip: view.getUint16(10, true),
    inputSampleRate: view.getUint32(12, true),
  };
}

/** The OpusTags comment packet (RFC 7845 §5.2) with a vendor string and no comments. */
export function opusTags(vendor = "scenario6-web") {
  const vendorBytes = new TextEncoder().encode(vendor);
  const tags = new Uint8Array(8 + 4 + vendorBytes.length + 4);
  const view = new DataView(tags.buffer);
  tags.set(ascii("OpusTags"), 0);
  view.setUint32(8, vendorBytes.length, true);
  tags.set(vendorBytes, 12);
  view.setUint32(12 + vendorBytes.length, 0, true);
  return tags;
}

const SILK_MS = [10, 20, 40, 60];
const CELT_MS = [2.5, 5, 10, 20];

/** Samples at 48 kHz in one Opus packet, from its TOC byte (RFC 6716 §3.1). */
export function opusPacketSamples(packet) {
  if (packet.length === 0) return 0;
  const toc = packet[0];
  const config = toc >> 3;
  let ms;
  if (config < 12) ms = SILK_MS[config % 4];
  else if (config < 16) ms = config % 2 ? 20 : 10;
  else ms = CELT_MS[config % 4];
  const code = toc & 0x03;
  let frames = 1;
  if (code === 1 || code === 2) frames = 2;
  else if (code === 3) frames = packet.length > 1 ? packet[1] & 0x3f : 0;
  return Math.round(frames * ms * 48);
}

/**
 * Writes one logical Ogg Opus stream: the two header pages, then audio pages holding
 * `packetsPerPage` packets each, with granule positions counted at 48 kHz as RFC 7845 asks.
 */
export class OggOpusWriter {
  constructor({ serial = randomSerial(), packetsPerPage = 2 } = {}) {
    this.serial = serial >>> 0;
    this.packetsPerPage = packetsPerPage;
    this.sequence = 0;
    this.granule = 0;
    this.pending = [];
  }

  /** The OpusHead (BOS) page followed by the OpusTags page, concatenated. */
  headerPages(head = {}) {
    const first = this.#page(FLAG_BOS, 0, [opusHead(head)]);
    const second = this.#page(0, 0, [opusTags(head.vendor)]);
    return concat([first, second]);
  }

  /** Queues one packet; returns a finished page once the page is full, otherwise null. */
  addPacket(packet, samples = opusPacketSamples(packet)) {
    this.pending.push(packet);
    this.granule += samples;
    return this.pending.length >= this.packetsPerPage ? this.flush() : null;
  }

  /** The page of whatever is queued (null when nothing is); `eos` marks the stream's end. */
  flush({ eos = false } = {}) {
    if (this.pending.length === 0 && !eos) return null;
    const page = this.#page(eos ? FLAG_EOS : 0, this.granule, this.pending);
    this.pending = [];
    return page;
  }

  #page(flags, granule, packets) {
    const page = buildPage({ flags, granule, serial: this.serial, sequence: this.sequence, packets });
    this.sequence += 1;
    return page;
  }
}

function randomSerial() {
  const word = new Uint32Array(1);
  globalThis.crypto.getRandomValues(word);
  return word[0];
}

export function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * Splits a byte stream into Ogg pages and Opus packets. Bytes may arrive in any split; a page
 * with a bad CRC is skipped (counted in `errors`) and the reader resynchronises on the next
 * "OggS". Granule positions are reported but never used for timing: writers disagree on them.
 */
export class OggOpusReader {
  constructor() {
    this.buffer = new Uint8Array(0);
    this.partial = null; // a packet continued on the next page
    this.errors = 0;
    this.pages = 0;
    this.head = null;
  }

  /** Returns the items completed by these bytes: {type: 'head'|'tags'|'audio', packet, page}. */
  push(bytes) {
    this.buffer = this.buffer.length ? concat([this.buffer, bytes]) : bytes.slice();
    const items = [];
    let offset = 0;
    for (;;) {
      const start = findCapture(this.buffer, offset);
      if (start < 0) {
        // Keep a tail that might be the start of a split "OggS".
        offset = Math.max(offset, this.buffer.length - 3);
        break;
      }
      if (start > offset) this.errors += 1;
      const page = readPage(this.buffer, start);
      if (page === undefined) {
        offset = start; // incomplete: wait for more bytes
        break;
      }
      if (page === null) {
        this.errors += 1;
        offset = start + 1;
        continue;
      }
      offset = page.end;
      this.pages += 1;
      this.#collect(page, items);
    }
    this.buffer = this.buffer.slice(offset);
    return items;
  }

  #collect(page, items) {
    if (page.flags & FLAG_BOS) this.partial = null;
    if (!(page.flags & FLAG_CONTINUED)) this.partial = null;
    const info = { granule: page.granule, serial: page.serial, sequence: page.sequence, flags: page.flags };
    page.packets.forEach((packet, index) => {
      let data = packet;
      if (index === 0 && this.partial) {
        data = concat([this.partial, packet]);
        this.partial = null;
      }
      if (index === page.packets.length - 1 && page.continuedLast) {
        this.partial = data;
        return;
      }
      const head = parseOpusHead(data);
      if (head) {
        this.head = head;
        items.push({ type: "head", packet: data, head, page: info });
      } else if (startsWith(data, "OpusTags")) {
        items.push({ type: "tags", packet: data, page: info });
      } else {
        items.push({ type: "audio", packet: data, page: info });
      }
    });
  }
}

function findCapture(bytes, from) {
  for (let i = from; i + 3 < bytes.length; i++) {
    if (bytes[i] === 0x4f && bytes[i + 1] === 0x67 && bytes[i + 2] === 0x67 && bytes[i + 3] === 0x53) {
      return i;
    }
  }
  return -1;
}

/** The page at `start`; undefined when more bytes are needed, null when it is invalid. */
export function readPage(bytes, start = 0) {
  if (bytes.length - start < HEADER_SIZE) return undefined;
  if (bytes[start + 4] !== 0) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset + start);
  const nseg = bytes[start + 26];
  if (bytes.length - start < HEADER_SIZE + nseg) return undefined;
  const lacing = bytes.subarray(start + HEADER_SIZE, start + HEADER_SIZE + nseg);
  const bodyStart = start + HEADER_SIZE + nseg;
  const end = bodyStart + lacing.reduce((sum, v) => sum + v, 0);
  if (end > bytes.length) return undefined;
  const raw = bytes.slice(start, end);
  const expected = view.getUint32(22, true);
  raw.fill(0, 22, 26);
  if (crc32(raw) !== expected) return null;
  const packets = [];
  let cursor = bodyStart;
  let packetStart = bodyStart;
  for (const size of lacing) {
    cursor += size;
    if (size < 255) {
      packets.push(bytes.slice(packetStart, cursor));
      packetStart = cursor;
    }
  }
  const continuedLast = nseg > 0 && lacing[nseg - 1] === 255;
  if (continuedLast) packets.push(bytes.slice(packetStart, cursor));
  return {
    flags: bytes[start + 5],
    granule: view.getUint32(6, true) + view.getUint32(10, true) * 0x100000000,
    serial: view.getUint32(14, true),
    sequence: view.getUint32(18, true),
    packets,
    continuedLast,
    end,
  };
}
