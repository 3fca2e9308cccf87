package counter

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/kortstation/kortstation/kiosk/store"
)

// tally is the cards read in during a stock flow: a shipment received or
// the drawer counted.
type tally struct {
	serials     []string
	shipmentRef string
}

// stockCardRead adds a card read in the reader to the shipment being
// received or the drawer being counted.
func (m *Counter) stockCardRead(ctx context.Context, f *flowState, serial string) error {
	if f.kind == KindStockReceive {
		return m.addReceived(ctx, f, serial)
	}
	if !slices.Contains(f.serials, serial) {
		f.serials = append(f.serials, serial)
	}
	return nil
}

// addReserved checks a serial against the registry's shipments to this
// station and the stock already here.
func (m *Counter) addReceived(ctx context.Context, f *flowState, serial string) error {
	serial = strings.TrimSpace(serial)
	if serial == "" {
		return refuse(msg("serial_missing", "Skriv eller läs in kortnumret.", "Type or read the card number."))
	}
	sh, err := m.st.Shipment(ctx, serial)
	if errors.Is(err, store.ErrNotFound) {
		return refuse(msg("not_shipped", "Kortet "+serial+" finns inte i någon leverans till stationen. Kontrollera kortnumret mot följesedeln.", "Card "+serial+" is in no shipment to this station. Check the card number against the delivery note."))
	}
	if err != nil {
		return err
	}
	known, err := m.st.CardExists(ctx, serial)
	if err != nil {
		return err
	}
	if known || slices.Contains(f.serials, serial) {
		return refuse(msg("already_received", "Kortet "+serial+" är redan mottaget. Läs in nästa kort.", "Card "+serial+" has already been received. Read the next card."))
	}
	f.serials = append(f.serials, serial)
	f.shipmentRef = sh.ShipmentRef
	return nil
}

func (m *Counter) receive(ctx context.Context, f *flowState) error {
	if len(f.serials) == 0 {
		return refuse(msg("nothing_received", "Inga kort är inlästa. Läs in eller skriv kortnumren först.", "No cards have been read. Read or type the card numbers first."))
	}
	now, sess := m.clock.Now(), sessionOf(m.sess)
	err := m.st.Update(ctx, m.clock, func(t *store.Tx) error {
		return t.RecordStockReceived(ctx, f.serials, f.shipmentRef, sess, now)
	})
	if err != nil {
		return err
	}
	f.result = map[string]any{"received": len(f.serials), "shipment_ref": f.shipmentRef}
	f.step = StepDone
	return nil
}
