// The websocket to the station: a versioned envelope {v, type, id, payload},
// reconnecting with backoff. On every (re)connect the server sends "hello"
// with a full snapshot, so the UI resumes wherever the station is.
//
// The UI channel is the kiosk's alone. The kiosk browser is started on
// http://127.0.0.1:8080/#k=<per-boot token>; the token is kept in this
// tab's sessionStorage (the fragment never reaches a server or a log and is
// removed from the address at once) and presented as a websocket
// subprotocol. The session belongs to the connection that logged in: the
// login's reply carries a resume secret, kept in sessionStorage too, with
// which a reloaded page or a reconnect takes the session back; each resume
// hands the next secret (a secret works once).
const VERSION = 1;
const PROTOCOL = "kortstation.v1";
const TOKEN_PREFIX = "kortstation.token.";
const TOKEN_KEY = "kortstation.token";
const RESUME_KEY = "kortstation.resume";

function takeToken() {
  const m = /(?:^#|&)k=([0-9a-f]{64})(?:&|$)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, m[1]);
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export class Conn {
  constructor(url, { onState, onMessage }) {
    this.url = url;
    this.onState = onState;
    this.onMessage = onMessage;
    this.pending = new Map();
    this.nextId = 1;
    this.backoff = 250;
    this.token = takeToken();
    this.connect();
  }

  connect() {
    this.onState("connecting");
    const protocols = [PROTOCOL];
    if (this.token) protocols.push(TOKEN_PREFIX + this.token);
    const ws = new WebSocket(this.url, protocols);
    this.ws = ws;
    ws.onopen = () => { this.backoff = 250; this.onState("open"); };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.v !== VERSION) return;
      if ((msg.type === "reply" || msg.type === "error") && this.pending.has(msg.id)) {
        const { resolve, reject, type } = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.type === "reply" && (type === "session.pin" || type === "session.resume") && msg.payload && msg.payload.resume) {
          sessionStorage.setItem(RESUME_KEY, msg.payload.resume);
          delete msg.payload.resume;
        }
        if (msg.type === "reply") resolve(msg.payload); else reject(msg.payload);
        return;
      }
      this.onMessage(msg);
      if (msg.type === "hello") this.resume(msg.payload);
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

  // resume takes the session back after a reload or reconnect, when the
  // station says it is held elsewhere and this tab holds the secret.
  resume(snapshot) {
    const secret = sessionStorage.getItem(RESUME_KEY);
    const state = snapshot && snapshot.session && snapshot.session.state;
    if (!secret || state !== "elsewhere") return;
    this.request("session.resume", { secret })
      .then(() => this.request("status.get"))
      .then((snap) => this.onMessage({ v: VERSION, type: "state", payload: snap }))
      .catch(() => sessionStorage.removeItem(RESUME_KEY));
  }

  request(type, payload) {
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        reject({ key: "disconnected", text: { sv: "Ingen anslutning till stationen.", en: "No connection to the station." } });
        return;
      }
      const id = String(this.nextId++);
      this.pending.set(id, { resolve, reject, type });
      this.ws.send(JSON.stringify({ v: VERSION, type, id, payload }));
    });
  }
}
