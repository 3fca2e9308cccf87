// The websocket to the station: a versioned envelope {v, type, id, payload},
// reconnecting with backoff. On every (re)connect the server sends "hello"
// with a full snapshot, so the UI resumes wherever the station is.
const VERSION = 1;

export class Conn {
  constructor(url, { onState, onMessage }) {
    this.url = url;
    this.onState = onState;
    this.onMessage = onMessage;
    this.pending = new Map();
    this.nextId = 1;
    this.backoff = 250;
    this.connect();
  }

  connect() {
    this.onState("connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => { this.backoff = 250; this.onState("open"); };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.v !== VERSION) return;
      if ((msg.type === "reply" || msg.type === "error") && this.pending.has(msg.id)) {
        const { resolve, reject } = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.type === "reply") resolve(msg.payload); else reject(msg.payload);
        return;
      }
      this.onMessage(msg);
    };
    ws.onclose = () => {
      this.onState("closed");
      for (const { reject } of this.pending.values()) {
        reject({ key: "disconnected", text: { sv: "Anslutningen bröts.", en: "The connection dropped." } });
      }
      this.pending.clear();
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 5000);
    };
  }

  request(type, payload) {
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        reject({ key: "disconnected", text: { sv: "Ingen anslutning till stationen.", en: "No connection to the station." } });
        return;
      }
      const id = String(this.nextId++);
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ v: VERSION, type, id, payload }));
    });
  }
}
