package counter

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/kortstation/kortstation/hw/cardreader/vcard"
	"github.com/kortstation/kortstation/kiosk/devseed"
)

// BenchmarkIssuance measures one full reserve-card issuance on the server:
// every step from flow.start to complete (the rules' decisions, the chip
// read from the simulated reader, the receipt sealed, rendered to PDF,
// stored with the records in one durable SQLite transaction and queued for
// printing). ns/op is the whole issuance; complete-ms is the final step.
func BenchmarkIssuance(b *testing.B) {
	c := newCounter(b)
	c.login()
	ctx := context.Background()
	var complete time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		serial := fmt.Sprintf("97522699000001%05d", i)
		pnr := devseed.PersonalNumber(fmt.Sprintf("19%02d0%d%02d", 40+i%50, 1+i%9, 1+i%28), 100+i%900)
		err := c.st.Write(ctx, func(tx *sql.Tx) error {
			if _, err := tx.Exec(`INSERT INTO cards (serial, type, state, updated_at) VALUES (?, 'reserve', 'in_stock', 't')`, serial); err != nil {
				return err
			}
			_, err := tx.Exec(`INSERT OR REPLACE INTO ref_person_facts (personal_number, facts, updated_at) VALUES (?, '{"regular_cards":[{"serial":"X","state":"active"}]}', 't')`, digitsOnly(pnr))
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		card, err := vcard.New(serial, nil, "0000", 0)
		if err != nil {
			b.Fatal(err)
		}
		c.cards[serial] = card
		if i > 0 {
			c.remove(1)
		}
		b.StartTimer()
		must := func(err error) {
			if err != nil {
				b.Fatal(err)
			}
		}
		must(c.call("flow.start", map[string]Kind{"kind": KindIssue}))
		must(c.step("reason", map[string]string{"reason": "forgotten"}))
		must(c.step("recipient", RecipientInput{PersonalNumber: pnr, Name: "Bänk Mark"}))
		must(c.step("document", DocumentInput{Type: "swedish_passport", Number: "P1", Expiry: "2030-01-01", Intact: true}))
		c.m.mu.Lock()
		c.m.flow.drawerOpened = true // the sensor's event, without its debounce
		c.m.mu.Unlock()
		must(c.step("card", map[string]string{"serial": serial}))
		c.insert(1, serial)
		for {
			c.m.mu.Lock()
			st := c.m.flow.step
			c.m.mu.Unlock()
			if st == "preview" {
				break
			}
			time.Sleep(20 * time.Microsecond)
		}
		must(c.step("confirm", nil))
		sig := SignatureInput{AspectRatio: 3, Strokes: [][]receiptPoint{{{X: .1, Y: .1}, {X: .2, Y: .5}, {X: .3, Y: .2}, {X: .4, Y: .6}, {X: .5, Y: .3}}}}
		for _, k := range []string{"recipient", "administrator"} {
			sig.Key = k
			must(c.step("sign", sig))
		}
		t0 := time.Now()
		must(c.step("complete", nil))
		complete += time.Since(t0)
		must(c.step("close", nil))
	}
	b.StopTimer()
	b.ReportMetric(float64(complete.Microseconds())/1000/float64(b.N), "complete-ms")
}

func digitsOnly(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			out = append(out, s[i])
		}
	}
	return string(out)
}
