// A stand-in for the browser's WebSocket: it records what the client sends and lets a test
// play the server's part (open, messages, close) as the browser would report it.
export class FakeSocket {
  static OPEN = 1;
  static last = null;

  constructor(url) {
    this.url = url;
    this.readyState = FakeSocket.OPEN;
    this.sent = [];
    FakeSocket.last = this;
  }

  send(message) {
    this.sent.push(message);
  }

  close(code, reason) {
    this.closedWith = { code, reason };
  }

  open() {
    this.onopen();
  }

  receive(...bytes) {
    this.onmessage({ data: new Uint8Array(bytes).buffer });
  }

  closedByServer(code, reason) {
    this.readyState = 3;
    this.onclose({ code, reason });
  }
}
