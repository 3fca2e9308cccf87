// Package drawer watches the card drawer's open/closed sensor.
//
// The sensor is a switch on a GPIO input. A Sensor turns its edges into
// reliable, timestamped events: debounced state changes, a Flapping event
// when the sensor changes state too often to be trusted, and a Fault event
// when the pin cannot be armed or its edge detection stops working (with a
// Recovered event once it works again). What an opening means for the
// station (RC-7: it belongs to a logged-in operator's session, or it is an
// alarm) is decided by the consumer of the events, not here.
//
// The real driver (Driver) runs on any periph.io gpio.PinIn; Open finds a
// named pin on the host through periph.io/x/host/v3. The simulator for
// `make run` is in the sim subpackage, and the contract suite that both pass
// is in drawertest.
package drawer

import (
	"context"
	"fmt"
	"time"
)

// State is the drawer's state as far as the sensor knows it.
type State int

const (
	// StateUnknown means the state is not known: before the first stable
	// reading, while the sensor is faulty or flapping, and after Run returned.
	StateUnknown State = iota
	// StateClosed means the drawer is closed.
	StateClosed
	// StateOpen means the drawer is open.
	StateOpen
)

// String returns "unknown", "closed" or "open".
func (s State) String() string {
	switch s {
	case StateUnknown:
		return "unknown"
	case StateClosed:
		return "closed"
	case StateOpen:
		return "open"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// MarshalText encodes the state as its String, for JSON payloads.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// EventKind says what happened.
type EventKind int

const (
	// EventOpened: the drawer is open. Prev tells whether it was seen
	// closing before (Prev == StateClosed: a real opening) or whether the
	// state was unknown (first reading, after a fault or after flapping).
	EventOpened EventKind = iota + 1
	// EventClosed: the drawer is closed; Prev as for EventOpened.
	EventClosed
	// EventFlapping: the sensor changed state more than Config.FlapCount
	// times within Config.FlapWindow, or never settled for a whole window.
	// It is reported once; when the sensor has been quiet for FlapWindow an
	// EventOpened or EventClosed with Prev == StateUnknown follows.
	EventFlapping
	// EventFault: the pin cannot be armed or its edge detection does not
	// work (WaitForEdge returns without waiting). Detail says why. Reported
	// once per fault; the driver re-arms the pin with exponential backoff
	// until it works.
	EventFault
	// EventRecovered: the pin works again after an EventFault: it could be
	// re-armed and then waited for an edge properly. The state is unknown
	// until the next EventOpened or EventClosed (Prev == StateUnknown),
	// which follows at once when the level is already stable.
	EventRecovered
)

// String returns "opened", "closed", "flapping", "fault" or "recovered".
func (k EventKind) String() string {
	switch k {
	case EventOpened:
		return "opened"
	case EventClosed:
		return "closed"
	case EventFlapping:
		return "flapping"
	case EventFault:
		return "fault"
	case EventRecovered:
		return "recovered"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// MarshalText encodes the kind as its String, for JSON payloads.
func (k EventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Event is one observation of the sensor. It holds no personal data.
type Event struct {
	Kind EventKind
	// State is the state after the event (StateUnknown for EventFlapping,
	// EventFault and EventRecovered).
	State State
	// Prev is the state reported before the event.
	Prev State
	// At is when it happened: for EventOpened and EventClosed, the time of
	// the last edge before the level settled (the moment the drawer reached
	// that state); for the others, when the driver noticed.
	At time.Time
	// Detail is a short human-readable explanation (for faults and flapping).
	Detail string
}

// Sensor reports the drawer's state.
//
// Run watches the sensor and sends events on events until ctx is cancelled,
// then returns nil. It blocks while events is full rather than drop an
// event, so the consumer must keep reading. The first event of a run is the
// initial state (EventOpened or EventClosed with Prev == StateUnknown), or
// an EventFault when the sensor cannot be read. A Sensor runs at most once
// at a time: a second concurrent Run returns ErrAlreadyRunning.
//
// State returns the last state reported by Run; it is safe for concurrent
// use and returns StateUnknown when Run is not running.
type Sensor interface {
	Run(ctx context.Context, events chan<- Event) error
	State() State
}

// Clock is the time source of a Driver. clockwork.FakeClock (the clock of
// periph's gpiotest pins) satisfies it.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
