package app

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/kortstation/kortstation/hw/cardreader/vcard"
	"github.com/kortstation/kortstation/kiosk/devseed"
)

// devCards is the development station's drawer of made-up cards: operator
// and attestor cards with certificates from a throwaway CA, and blank
// reserve cards. Only `make run`'s simulation uses it.
type devCards struct {
	mu    sync.Mutex
	ca    *vcard.CA
	cards map[string]*vcard.Card
	info  []DevCard
}

// DevCard describes one test card for the dev panel. Its PIN is a public
// test value, shown so a person can log in on `make run`.
type DevCard struct {
	Serial string `json:"serial"`
	HSAID  string `json:"hsa_id,omitempty"`
	Name   string `json:"name,omitempty"`
	PIN    string `json:"pin"`
}

func newDevCards() (*devCards, error) {
	ca, err := vcard.NewCA("Kortstation dev CA")
	if err != nil {
		return nil, fmt.Errorf("dev cards: %w", err)
	}
	d := &devCards{ca: ca, cards: map[string]*vcard.Card{}}
	for _, p := range append(append(vcard.DevProfiles(), devseed.BlankCards()...), registrySeedCards(time.Now())...) {
		if err := d.add(p); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// add issues a card for p (replacing one with the same serial).
func (d *devCards) add(p vcard.Profile) error {
	c, err := d.ca.Issue(p)
	if err != nil {
		return fmt.Errorf("dev card %s: %w", p.Serial, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, dup := d.cards[p.Serial]; !dup {
		d.info = append(d.info, DevCard{Serial: p.Serial, HSAID: p.HSAID, Name: p.CommonName, PIN: p.PIN})
	}
	d.cards[p.Serial] = c
	return nil
}

func (d *devCards) get(serial string) (*vcard.Card, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.cards[serial]
	return c, ok
}

func (d *devCards) list() []DevCard {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := append([]DevCard(nil), d.info...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].HSAID > out[j].HSAID })
	return out
}

// registrySeedCards are test cards for what the embedded registry's seed
// (sync/registry.Seed) puts on its lists: its administrators (one of them
// no longer authorised, to see AD-1 refuse) and the reserve cards it ships
// to the station, so that a person can log in, receive the shipment and
// issue from it on `make run` after the first sync. Remove once that seed
// uses vcard.DevProfiles and the devseed serials.
func registrySeedCards(now time.Time) []vcard.Profile {
	out := []vcard.Profile{
		{Serial: "9752269900000000051", HSAID: "SE2321000131-P000000012345", CommonName: "Anna Administratör", PIN: "1234"},
		{Serial: "9752269900000000052", HSAID: "SE2321000131-P000000023456", CommonName: "Bertil Behörig", PIN: "2345"},
		{Serial: "9752269900000000053", HSAID: "SE2321000131-P000000099999", CommonName: "Doris Avregistrerad", PIN: "9999"},
		// A second attestor (with "Test Intygsgivare"): neither is an
		// administrator (AT-1).
		{Serial: "9752269900000000022", HSAID: "SE2321000131-P000000000022", CommonName: "Chef Chefsson", PIN: "4567"},
	}
	for i := 1; i <= 10; i++ {
		out = append(out, vcard.Profile{Serial: fmt.Sprintf("RK-%s-%04d", now.Format("2006"), i), PIN: "0000"})
	}
	return out
}
