package counter

import (
	"context"
	"slices"

	"github.com/kortstation/kortstation/kiosk/store"
)

// count reconciles the drawer: cards seen are counted, cards in stock not
// seen are missing (reported to the registry), cards seen but not in stock
// are unexpected.
func (m *Counter) count(ctx context.Context, f *flowState) error {
	stock := m.stockList(ctx, string(KindStockCount))
	now, sess := m.clock.Now(), sessionOf(m.sess)
	var found, missing, unexpected []string
	for _, c := range stock {
		if slices.Contains(f.serials, c.Serial) {
			found = append(found, c.Serial)
		} else {
			missing = append(missing, c.Serial)
		}
	}
	for _, s := range f.serials {
		if !slices.Contains(found, s) {
			unexpected = append(unexpected, s)
		}
	}
	count := store.StockCount{Expected: len(stock), Found: found, Missing: missing, Unexpected: unexpected}
	err := m.st.Update(ctx, m.clock, func(t *store.Tx) error { return t.RecordStockCount(ctx, count, sess, now) })
	if err != nil {
		return err
	}
	f.result = map[string]any{"expected": len(stock), "found": found, "missing": missing, "unexpected": unexpected}
	f.step = StepDone
	return nil
}
