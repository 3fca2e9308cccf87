// Package outbox describes the station's queue of records for the central
// registry as pure logic: an event has a station-generated ID, a kind, a
// JSON payload and, once stored, a per-station sequence number (never
// reused). kiosk/store queues an event (Tx.Enqueue) in the same SQLite
// transaction as the change it describes, so it exists exactly when the
// change does; events are marked acknowledged, and the schema refuses to
// delete one that is not.
package outbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/sync/protocol"
)

// New makes an event of payload's kind (sync/protocol: every kind and
// payload of the wire contract lives there), its payload encoded as JSON,
// stamped by c, not yet stored (Seq 0).
func New(c clock.Clock, payload protocol.Payload) (protocol.Event, error) {
	if payload == nil {
		return protocol.Event{}, errors.New("outbox: event needs a payload")
	}
	kind := payload.EventKind()
	if kind == "" {
		return protocol.Event{}, errors.New("outbox: event needs a kind")
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return protocol.Event{}, fmt.Errorf("outbox: encode %s: %w", kind, err)
	}
	return protocol.Event{
		ID:          uuid.NewString(),
		Kind:        kind,
		Payload:     body,
		CreatedAt:   c.Now().UTC().Truncate(time.Microsecond),
		ClockSource: c.Source(),
	}, nil
}
