// Reads {"packets": [base64...], "serial": n, "preSkip": n} on stdin and writes the Ogg Opus
// stream the browser client would send for those packets to stdout.
import { OggOpusWriter } from "../../../src/scenario6/frontend/static/js/ogg.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString());
const writer = new OggOpusWriter({ serial: input.serial, packetsPerPage: input.packetsPerPage ?? 2 });
const out = [writer.headerPages({ channels: 1, preSkip: input.preSkip, inputSampleRate: 24000 })];
for (const packet of input.packets) {
  const page = writer.addPacket(new Uint8Array(Buffer.from(packet, "base64")));
  if (page) out.push(page);
}
const last = writer.flush({ eos: true });
if (last) out.push(last);
process.stdout.write(Buffer.concat(out.map((p) => Buffer.from(p))));
