package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// TestPersonLookupsOnAuditPage: the security officer sees each station's
// person look-ups on the audit page, in Swedish by default and English on
// the toggle, with the personal number only as its keyed hash; a refused
// look-up (operator not authorised, AD-1) is listed too.
func TestPersonLookupsOnAuditPage(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t, t.TempDir())
	srv := reg.Server
	if err := srv.Seed(ctx, ""); err != nil {
		t.Fatal(err)
	}
	const op = "SE2321000131-P000000012345" // Seed: authorised
	pnr := registry.TestPersonalNumber("19810303", 717)
	if err := srv.SetPersonFactsDoc(ctx, pnr, protocol.PersonFactsDoc{RegularCards: []protocol.RegularCardFact{{Serial: "SIS-717"}}}); err != nil {
		t.Fatal(err)
	}
	res, err := srv.LookupPerson(ctx, "ST-A", op, pnr)
	if err != nil || !res.Found {
		t.Fatalf("look-up: %+v, %v", res, err)
	}
	var lr *registry.LookupRefused
	if res, err := srv.LookupPerson(ctx, "ST-A", "SE2321000131-P000000099999", pnr); !errors.As(err, &lr) || lr.Outcome != registry.LookupNoOperator || res.Found {
		t.Fatalf("look-up for an operator not authorised: %+v, %v", res, err)
	}
	hash, err := srv.SearchTermHash(ctx, registry.SearchPersonalNumber, pnr)
	if err != nil {
		t.Fatal(err)
	}
	base, cl, _ := devConsole(t, srv)
	page := getPage(t, cl, base+"/admin/audit")
	for _, want := range []string{"Personslagningar från stationer", "hittad", "nekad: ingen behörig handläggare", hash, op, "ST-A"} {
		if !strings.Contains(page, want) {
			t.Errorf("audit page lacks %q", want)
		}
	}
	for _, p := range []string{pnr, pnr[2:], pnr[:8] + "-" + pnr[8:]} {
		if strings.Contains(page, p) {
			t.Errorf("audit page shows the personal number %s in clear", p)
		}
	}
	setLang(t, cl, base+"/admin/audit", "en")
	page = getPage(t, cl, base+"/admin/audit")
	for _, want := range []string{"Person look-ups by stations", ">found<", "refused: no authorised operator"} {
		if !strings.Contains(page, want) {
			t.Errorf("English audit page lacks %q", want)
		}
	}
}
