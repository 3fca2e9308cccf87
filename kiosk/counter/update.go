package counter

import (
	"errors"

	"github.com/kortstation/kortstation/hw/drawer"
)

// errUpdating is what a login is told while an update installs.
var errUpdating = msg("station_updating", "Stationen installerar en uppdatering och startar om inom några minuter. Försök igen om en stund.",
	"The station is installing an update and will restart within a few minutes. Please try again shortly.")

// Why the counter is not quiet (HoldForUpdate).
var (
	ErrBusySession = errors.New("an operator is logged in")
	ErrBusyLogin   = errors.New("a login is under way (or a card is in the operator's reader)")
	ErrBusyFlow    = errors.New("a flow is in progress")
	ErrBusyDrawer  = errors.New("the drawer is not known to be closed")
	ErrBusyHeld    = errors.New("an update already holds the counter")
)

// HoldForUpdate closes the counter to new logins while an update installs,
// but only when nothing happens at it: no operator session, no login under
// way, no flow, and the drawer closed (when the station has a drawer
// sensor). Otherwise it returns why not and changes nothing. The check and
// the hold are one step under the counter's lock, so no session can start
// in between. release opens the counter again; the reboot into the new
// slot ends the hold too.
func (m *Counter) HoldForUpdate(version string) (release func(), err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.updating != "":
		return nil, ErrBusyHeld
	case m.sess != nil:
		return nil, ErrBusySession
	case m.login != nil:
		return nil, ErrBusyLogin
	case m.flow != nil:
		return nil, ErrBusyFlow
	case m.drawer != nil && m.drawer.State() != drawer.StateClosed:
		return nil, ErrBusyDrawer
	}
	if version == "" {
		version = "?"
	}
	m.updating = version
	m.log.Info("counter closed to new logins for an update", "version", version)
	var once bool
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if once {
			return
		}
		once = true
		m.updating = ""
		m.log.Info("counter open again after the update hold", "version", version)
		m.changed()
	}, nil
}
