// Reads /api/config's `protocol` ({kinds, closes}) on stdin and writes, for each close code,
// what the web client does when the server closes a live session with it: "reconnecting"
// or "error" (it gives up), as {"4508": "error", ...}.
import { Session } from "../../../src/scenario6/frontend/static/js/session.js";
import { FakeSocket } from "./socket.mjs";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const protocol = JSON.parse(Buffer.concat(chunks).toString());
globalThis.WebSocket = FakeSocket;
const location = { protocol: "http:", host: "voice.test" };
const outcomes = {};
for (const code of Object.values(protocol.closes)) {
  const session = new Session({ path: "/api/chat", eventsParam: "events", protocol, location });
  session.start({ voice: "NATF2", persona: "Hi" });
  FakeSocket.last.open();
  FakeSocket.last.receive(protocol.kinds.HANDSHAKE);
  FakeSocket.last.closedByServer(code, "the server's reason");
  outcomes[code] = session.state;
  session.stop();
}
process.stdout.write(JSON.stringify(outcomes));
