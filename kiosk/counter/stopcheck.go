package counter

import (
	"context"

	"github.com/kortstation/kortstation/kiosk/rules"
)

// checkTotalStop refuses issuing while a total stop is on (CP-3): at the
// start of an issue, extension or pickup, and when an extension's card is
// read, so the operator learns it before anyone types anything. The
// decision at the end of each flow checks again (rules.IssueReserve,
// ExtendReserve, PickupCard), so a stop that begins mid-flow stops the
// card too. The windows are the registry's, pulled ahead of their start.
func (m *Counter) checkTotalStop(ctx context.Context) error {
	ws, err := m.st.StopWindows(ctx)
	if err != nil {
		return err
	}
	if v := rules.CheckTotalStop(ws, m.clock.Now()); v != nil {
		return v
	}
	return nil
}
