package web

import (
	"encoding/json"
	"fmt"
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
	TypeError = "error" // a request that could not be handled, with its ID
)

// Problem is the payload of an error message: a stable key and text in
// Swedish and English for the UI to show as it is.
type Problem struct {
	Key  string            `json:"key"`
	Rule string            `json:"rule,omitempty"`
	Text map[string]string `json:"text"`
}

func (p *Problem) Error() string { return fmt.Sprintf("%s: %s", p.Key, p.Text["en"]) }

// NewProblem builds a Problem.
func NewProblem(key, sv, en string) *Problem {
	return &Problem{Key: key, Text: map[string]string{"sv": sv, "en": en}}
}

func decodeEnvelope(b []byte) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return e, NewProblem("malformed", "Meddelandet kunde inte läsas.", "The message could not be read: "+err.Error())
	}
	if e.V != ProtocolVersion {
		return e, NewProblem("version", "Fel protokollversion; ladda om sidan.", fmt.Sprintf("Unsupported protocol version %d; reload the page.", e.V))
	}
	if e.Type == "" {
		return e, NewProblem("malformed", "Meddelandet saknar typ.", "The message has no type.")
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
