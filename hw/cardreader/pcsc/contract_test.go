package pcsc_test

import (
	"testing"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/hw/cardreader/readertest"
	"github.com/kortstation/kortstation/hw/cardreader/vcard"
)

// contractHarness adapts harness (written for testing.TB) to
// readertest.Harness.
type contractHarness struct{ *harness }

func (h contractHarness) Insert(t *testing.T, reader string, card *vcard.Card) {
	t.Helper()
	h.harness.Insert(t, reader, card)
}
func (h contractHarness) Remove(t *testing.T, reader string) { t.Helper(); h.harness.Remove(t, reader) }
func (h contractHarness) RestartService(t *testing.T)        { t.Helper(); h.harness.RestartService(t) }
func (h contractHarness) New(t *testing.T) cardreader.Reader { return h.harness.New(t) }

// TestContract runs the contract suite against pcscd + vpcd + virtual
// cards.
func TestContract(t *testing.T) {
	readertest.Run(t, contractHarness{newHarness(daemon)})
}
