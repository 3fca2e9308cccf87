package web

import (
	"encoding/json"
	"fmt"

	"github.com/kortstation/kortstation/kiosk/problem"
)

// ProtocolVersion is the websocket message envelope's version.
const ProtocolVersion = 1

// Envelope is every websocket message in both directions.
type Envelope struct {
	V       int             `json:"v"`
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"` // a request's ID, echoed in its reply
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Message types the server sends.
const (
	TypeHello = "hello" // on connect: station, version and a full state snapshot
	TypeEvent = "event" // a bus event
	TypeState = "state" // a new full state snapshot
	TypeReply = "reply" // the answer to a request, with its ID
	TypeError = "error" // a request that could not be handled, with its ID: a problem.Problem
)

func decodeEnvelope(b []byte) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return e, problem.Errorf("malformed", "Meddelandet kunde inte läsas.", "The message could not be read: "+err.Error())
	}
	if e.V != ProtocolVersion {
		return e, problem.Errorf("version", "Fel protokollversion; ladda om sidan.", fmt.Sprintf("Unsupported protocol version %d; reload the page.", e.V))
	}
	if e.Type == "" {
		return e, problem.Errorf("malformed", "Meddelandet saknar typ.", "The message has no type.")
	}
	return e, nil
}

func encode(typ, id string, payload any) ([]byte, error) {
	var raw json.RawMessage
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			return nil, fmt.Errorf("web: encode %s: %w", typ, err)
		}
		raw = b
	}
	return json.Marshal(Envelope{V: ProtocolVersion, Type: typ, ID: id, Payload: raw})
}
