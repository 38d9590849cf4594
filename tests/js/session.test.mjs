// Unit tests for the session's side of the protocol, against a stand-in WebSocket. The
// protocol given to it is made up on purpose (kinds and codes no server uses): the session
// must follow what /api/config serves, not numbers of its own.
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";

import { CLOSES, Session } from "../../src/scenario6/frontend/static/js/session.js";
import { FakeSocket } from "./tools/socket.mjs";

const PROTOCOL = {
  kinds: { HANDSHAKE: 0x10, AUDIO: 0x11, TEXT: 0x12 },
  closes: {
    BAD_REQUEST: 4901,
    TOO_MANY_SESSIONS: 4902,
    QUEUE_TIMEOUT: 4903,
    AUDIO_TOO_FAST: 4904,
    NORMAL: 4900,
  },
};

let realSocket;
beforeEach(() => {
  realSocket = globalThis.WebSocket;
  globalThis.WebSocket = FakeSocket;
});
afterEach(() => {
  globalThis.WebSocket = realSocket;
});

function started() {
  const location = { protocol: "http:", host: "voice.test:8010" };
  const session = new Session({ path: "/api/chat", eventsParam: "events", protocol: PROTOCOL, location });
  const seen = { states: [], audio: [], text: [], logs: [] };
  session.addEventListener("state", ({ detail }) => seen.states.push(detail));
  session.addEventListener("audio", ({ detail }) => seen.audio.push([...detail.bytes]));
  session.addEventListener("text", ({ detail }) => seen.text.push(detail.piece));
  session.addEventListener("log", ({ detail }) => seen.logs.push(detail.message));
  session.start({ voice: "NATF2", persona: "You are kind." });
  const socket = FakeSocket.last;
  socket.open();
  return { session, socket, seen };
}

test("messages are told apart by the kinds the server serves", () => {
  const { session, socket, seen } = started();
  socket.receive(0x00); // upstream's handshake byte, but not this protocol's
  assert.equal(session.state, "waiting");
  assert.match(seen.logs.at(-1), /unknown kind 0x00/);
  socket.receive(0x10);
  assert.equal(session.state, "live");
  socket.receive(0x11, 1, 2, 3);
  socket.receive(0x12, ...new TextEncoder().encode("héllo"));
  assert.deepEqual(seen.audio, [[1, 2, 3]]);
  assert.deepEqual(seen.text, ["héllo"]);
  assert.ok(session.sendAudio(new Uint8Array([7, 8])));
  assert.deepEqual([...socket.sent[0]], [0x11, 7, 8]);
  session.stop();
  assert.deepEqual(socket.closedWith, { code: 4900, reason: "user stopped" });
});

test("a close the server names final stops the session with its explanation", () => {
  const { session, socket, seen } = started();
  socket.closedByServer(4901, "unknown voice 'x'");
  assert.equal(session.state, "error");
  assert.equal(seen.states.at(-1).reason, "The server rejected the request: unknown voice 'x'");
  assert.equal(session.wanted, false);
});

test("the two queue limits have their own codes and explanations, and both retry", () => {
  for (const [code, text] of [
    [4902, CLOSES.TOO_MANY_SESSIONS.text],
    [4903, CLOSES.QUEUE_TIMEOUT.text],
  ]) {
    const { session, socket, seen } = started();
    socket.closedByServer(code, "the server's own words");
    const last = seen.states.at(-1);
    assert.equal(last.state, "reconnecting");
    assert.equal(last.reason, `${text}: the server's own words`);
    session.stop();
  }
  assert.notEqual(CLOSES.TOO_MANY_SESSIONS.text, CLOSES.QUEUE_TIMEOUT.text);
});

test("audio that ran ahead of real time is explained, and no session follows on its own", () => {
  const { session, socket, seen } = started();
  socket.closedByServer(4904, "audio faster than real time: over 6 s ahead");
  const last = seen.states.at(-1);
  assert.equal(last.state, "error");
  assert.equal(
    last.reason,
    `${CLOSES.AUDIO_TOO_FAST.text}: audio faster than real time: over 6 s ahead`,
  );
  assert.equal(session.wanted, false);
  assert.equal(session.timer, null);
});

test("a code the server does not name is not taken for one it knows", () => {
  const { session, socket, seen } = started();
  socket.closedByServer(4400, ""); // BAD_REQUEST's real code, which this server does not use
  const last = seen.states.at(-1);
  assert.equal(last.state, "reconnecting");
  assert.equal(last.reason, "Connection closed");
  session.stop();
});

test("a connection that never opened says the app server is unreachable", () => {
  const location = { protocol: "https:", host: "voice.test" };
  const session = new Session({ path: "/api/chat", eventsParam: "events", protocol: PROTOCOL, location });
  const states = [];
  session.addEventListener("state", ({ detail }) => states.push(detail));
  session.start({ voice: "NATF2", persona: "Hi" });
  assert.equal(FakeSocket.last.url, "wss://voice.test/api/chat?voice_prompt=NATF2.pt&text_prompt=Hi&events=1");
  FakeSocket.last.closedByServer(1006, "");
  assert.equal(states.at(-1).reason, "The app server is unreachable");
  session.stop();
});
