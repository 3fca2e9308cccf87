package store_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

// TestRecordCorrectionRE3OneNewVersionPerVersion: a correction is a new
// receipt that refers to the old one, with its audit entry and its receipt
// event (corrects) in one transaction; a version already corrected, a
// receipt that is not this station's and another issuance's receipt are
// refused and write nothing; the database itself refuses a second
// correction of one version.
func TestRecordCorrectionRE3OneNewVersionPerVersion(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	clk := &clock.Fixed{T: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)}
	const op = "SE2321000131-P000000000011"
	pnr, err := ident.ParsePersonalNumber("19800101-2346")
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(ctx, clk, func(tx *store.Tx) error {
		if err := tx.ReplaceOperators(ctx, []protocol.Operator{{HSAID: op, Name: "Test", Authorised: true}}, clk.T); err != nil {
			return err
		}
		return tx.SeedIssuedReserve(ctx, store.DevIssuedReserve{Serial: "RK-1", Recipient: rules.Recipient{Person: rules.Person{PersonalNumber: pnr}, Name: "Eva Ek"},
			Reason: rules.ReasonLost, ValidFrom: clk.T, ValidUntil: clk.T.AddDate(0, 0, 30), Operator: op})
	})
	if err != nil {
		t.Fatal(err)
	}
	const issuance = "devseed-issuance-RK-1"
	if err := st.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO receipts (id, issuance_id, content, signatures, pdf, pdf_sha256, signed_at) VALUES ('KV-1', ?, '{}', '[]', x'25504446', 'h', ?)`,
			issuance, clk.T.Format(time.RFC3339))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	correction := func(id, corrects, iss string) store.Correction {
		return store.Correction{Receipt: rules.SealedReceipt{Receipt: rules.Receipt{ID: id, Corrects: corrects, CardNumber: "RK-1", SignedAt: clk.T}, Digest: "d"},
			IssuanceID: iss, CardSerial: "RK-1", Fields: []string{"recipient_name"}, Signatures: []byte(`[]`), PDF: []byte("%PDF-new"),
			Session: store.Session{ID: "devseed-RK-1", Operator: op}, At: clk.T}
	}
	record := func(c store.Correction) error {
		return st.Update(ctx, clk, func(tx *store.Tx) error { return tx.RecordCorrection(ctx, c) })
	}
	depth := func() int64 {
		d, err := st.OutboxDepth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if err := record(correction("KV-2", "KV-1", issuance)); err != nil {
		t.Fatal(err)
	}
	if d := depth(); d != 1 {
		t.Errorf("outbox after the correction = %d, want 1 (its receipt event)", d)
	}
	rec, err := st.ReceiptRecord(ctx, "KV-1")
	if err != nil || !rec.Superseded {
		t.Errorf("KV-1 after its correction: %+v, %v, want superseded", rec, err)
	}
	for _, tc := range []struct {
		name string
		c    store.Correction
		want error
	}{
		{"RE-3/a version corrected already", correction("KV-3", "KV-1", issuance), store.ErrSuperseded},
		{"RE-3/another station's receipt", correction("KV-4", "KV-ELSEWHERE", issuance), store.ErrNotFound},
		{"RE-3/another issuance", correction("KV-5", "KV-2", "another"), nil},
	} {
		err := record(tc.c)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if d := depth(); d != 1 {
		t.Errorf("outbox after the refusals = %d, want 1", d)
	}
	err = st.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO receipts (id, issuance_id, corrects, content, signatures, pdf, pdf_sha256, signed_at) VALUES ('KV-6', ?, 'KV-1', '{}', '[]', x'25', 'h', 'x')`, issuance)
		return err
	})
	if err == nil {
		t.Error("RE-3: the database took a second correction of one version")
	}
}
