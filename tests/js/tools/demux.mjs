// Reads an Ogg Opus byte stream on stdin, feeds it to the browser client's reader in
// `--chunk` byte pieces, and prints what it found as JSON.
import { OggOpusReader } from "../../../src/scenario6/frontend/static/js/ogg.js";

const chunkArg = process.argv.indexOf("--chunk");
const size = chunkArg > 0 ? Number(process.argv[chunkArg + 1]) : Infinity;
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const bytes = new Uint8Array(Buffer.concat(chunks));
const reader = new OggOpusReader();
const items = [];
for (let i = 0; i < bytes.length; i += Math.min(size, bytes.length)) {
  items.push(...reader.push(bytes.subarray(i, i + size)));
}
const out = items.map((item) => ({
  type: item.type,
  packet: Buffer.from(item.packet).toString("base64"),
  granule: item.page.granule,
  sequence: item.page.sequence,
}));
process.stdout.write(JSON.stringify({ items: out, errors: reader.errors, pages: reader.pages, head: reader.head }));
