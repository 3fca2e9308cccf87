package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// TestSetPersonFactsTakesOnlyTheDocument: person facts are a
// protocol.PersonFactsDoc; a field the document does not have (a typo, or
// a fact no station would read) is refused rather than stored unread.
func TestSetPersonFactsTakesOnlyTheDocument(t *testing.T) {
	ctx := context.Background()
	srv, err := registry.Open(ctx, registrytest.On(t, registry.Config{DataDir: t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	pnr := registry.TestPersonalNumber("19700101", 12)
	ok := `{"holder_hsa_id":"SE2321000131-P000000000001","regular_cards":[{"serial":"C1","state":"active","type":"sis"}],` +
		`"orders":[{"id":"O1","type":"reserve","status":"open","ordered":"2026-01-02","reason":"forgotten","card_type":"reserve","card_serial":"C2","pickup_deadline":"2026-02-01"}],` +
		`"reserve_cards":[{"serial":"RK-1","reason":"lost","valid_until":"2026-03-01T00:00:00Z","station":"ST-1","state":"approved"}]}`
	if err := srv.SetPersonFacts(ctx, pnr, json.RawMessage(ok)); err != nil {
		t.Errorf("got %v, want the full document accepted", err)
	}
	for _, bad := range []string{
		`{"regular_card":[{"serial":"C1"}]}`,
		`{"orders":[{"type":"regular","pickup":"2026-01-01"}]}`,
		`{"orders":[]} {}`,
		`not json`,
	} {
		if err := srv.SetPersonFacts(ctx, pnr, json.RawMessage(bad)); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", bad, err)
		}
	}
}
