package store_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/kortstation/kortstation/kiosk/devseed"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/store"
)

// TestPersonByCardFindsTheHolderAndNoWildcard: the look-up by card number
// finds the person whose registry facts name the card, whatever its
// spacing; a typed "%" or "_" is no wildcard that finds somebody else.
func TestPersonByCardFindsTheHolderAndNoWildcard(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	pnr := devseed.PersonalNumber("19800101", 234)
	p, err := ident.ParsePersonalNumber(pnr)
	if err != nil {
		t.Fatal(err)
	}
	err = st.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO ref_person_facts (personal_number, facts, updated_at) VALUES (?, ?, '2026-03-10T08:00:00Z')`,
			store.Canonical(p), `{"regular_cards":[{"serial":"9752269000000000102","state":"lost"}]}`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.PersonByCard(ctx, "9752 2690 0000 0000 102")
	if err != nil || got.String() != p.String() {
		t.Fatalf("PersonByCard = %v, %v; want %s", got, err, p)
	}
	for _, q := range []string{"%", "_", "97522690000000001_2", "9752269000000000%"} {
		if got, err := st.PersonByCard(ctx, q); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("PersonByCard(%q) = %v, %v; want not found", q, got, err)
		}
	}
	if _, err := st.PersonName(ctx, p); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("name of a person never dealt with: %v, want not found", err)
	}
	if _, err := st.LastDocument(ctx, p); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("document of a person never dealt with: %v, want not found", err)
	}
}
