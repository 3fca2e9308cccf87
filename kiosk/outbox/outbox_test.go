package outbox_test

import (
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/outbox"
	"github.com/kortstation/kortstation/sync/protocol"
)

func TestNew(t *testing.T) {
	clk := &clock.Fixed{T: time.Date(2026, 3, 10, 9, 0, 0, 123456789, time.UTC)}
	ev, err := outbox.New(clk, protocol.StockMovementPayload{CardSerial: "RK-1", Movement: "received"})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != protocol.KindStockMovement || string(ev.Payload) != `{"card_serial":"RK-1","movement":"received"}` || ev.ID == "" || ev.Seq != 0 {
		t.Errorf("got %+v, want a stock_movement event with its JSON payload, an ID and no sequence yet", ev)
	}
	if want := clk.T.Truncate(time.Microsecond); !ev.CreatedAt.Equal(want) || ev.ClockSource != clk.Source() {
		t.Errorf("got %v (%s), want %v (%s)", ev.CreatedAt, ev.ClockSource, want, clk.Source())
	}
	if _, err := outbox.New(clk, nil); err == nil {
		t.Error("got an event without a payload, want an error")
	}
}
