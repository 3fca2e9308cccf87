package counter

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/devseed"
)

// BenchmarkDayListView measures the day list as the screen fetches it
// after every request while it is open (the flow's view: today's and the
// last 30 days' entries, the reserve cards out read as the rules see
// them with RC-6 marked, the pickups waiting), on a busy station: 600
// issuances in the 30 days, 150 reserve cards out, a search by name.
func BenchmarkDayListView(b *testing.B) {
	c := newCounter(b)
	ctx := context.Background()
	err := c.st.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO operator_sessions (id, operator, card_serial, started_at) VALUES ('old', 'SE2321000131-P000000000011', 'x', 't')`); err != nil {
			return err
		}
		for i := 0; i < 600; i++ {
			serial := fmt.Sprintf("97522699000009%05d", i)
			at := tuesday.Add(-time.Duration(i) * time.Hour)
			from, until := at.UTC().Format(time.RFC3339), at.AddDate(0, 0, 10).UTC().Format(time.RFC3339)
			pnr := digitsOnly(devseed.PersonalNumber(fmt.Sprintf("19%02d0%d%02d", 40+i%50, 1+i%9, 1+i%28), 100+i%900))
			state := "returned"
			if i < 150 {
				state = "handed_out"
			}
			stmts := []struct {
				q    string
				args []any
			}{
				{`INSERT OR IGNORE INTO persons (personal_number, name, created_at) VALUES (?, ?, 't')`, []any{pnr, fmt.Sprintf("Person %d", i)}},
				{`INSERT INTO cards (serial, type, state, holder, valid_from, valid_until, updated_at) VALUES (?, 'reserve', ?, (SELECT id FROM persons WHERE personal_number = ?), ?, ?, 't')`,
					[]any{serial, state, pnr, from, until}},
				{`INSERT INTO issuances (id, kind, card_serial, person_id, session_id, reason, valid_from, valid_until, created_at, clock_source)
					VALUES (?, 'reserve', ?, (SELECT id FROM persons WHERE personal_number = ?), 'old', 'forgotten', ?, ?, ?, 'ntp')`,
					[]any{"iss-" + serial, serial, pnr, from, until, at.UTC().Format(time.RFC3339Nano)}},
				{`INSERT INTO receipts (id, issuance_id, content, signatures, pdf, pdf_sha256, signed_at) VALUES (?, ?, '{}', '[]', x'25', 'h', 't')`,
					[]any{"KV-" + serial, "iss-" + serial}},
			}
			for _, s := range stmts {
				if _, err := tx.Exec(s.q, s.args...); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	c.login()
	c.openDayList()
	c.searchDay("person 1", 30)
	if n := len(c.dayEntries()); n == 0 {
		b.Fatal("the search found nothing")
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.m.mu.Lock()
		v := c.m.view(ctx, "test")
		c.m.mu.Unlock()
		if v.Flow == nil {
			b.Fatal("no flow")
		}
	}
}
