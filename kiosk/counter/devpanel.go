package counter

import (
	"context"
	"encoding/json"
)

// DevPanel drives the simulated hardware for the dev panel of `make run`
// (simulation only): test cards into the readers, the drawer, the
// printer's conditions. The app implements it over the simulators.
type DevPanel interface {
	// Cards lists the test cards and the readers.
	Cards() any
	InsertCard(reader, serial string) error
	RemoveCard(reader string) error
	Drawer(a DrawerAction) error
	Printer(c PrinterCondition, on bool) error
}

// DrawerAction is what the dev panel does to the simulated drawer.
type DrawerAction string

// The drawer actions.
const (
	DrawerOpen   DrawerAction = "open"
	DrawerClose  DrawerAction = "close"
	DrawerFail   DrawerAction = "fail"
	DrawerRepair DrawerAction = "repair"
)

// PrinterCondition is a condition the dev panel sets on the simulated
// printer.
type PrinterCondition string

// The printer conditions.
const (
	PrinterPaused     PrinterCondition = "paused"
	PrinterOffline    PrinterCondition = "offline"
	PrinterOutOfPaper PrinterCondition = "out_of_paper"
)

type devCardRequest struct {
	Reader string `json:"reader"`
	Serial string `json:"serial"`
}

func (m *Counter) devCards(context.Context, string, json.RawMessage) (any, error) {
	return m.dev.Cards(), nil
}

func (m *Counter) devCardInsert(_ context.Context, _ string, payload json.RawMessage) (any, error) {
	var req devCardRequest
	if err := decode(payload, &req); err != nil {
		return nil, err
	}
	return nil, m.dev.InsertCard(req.Reader, req.Serial)
}

func (m *Counter) devCardRemove(_ context.Context, _ string, payload json.RawMessage) (any, error) {
	var req devCardRequest
	if err := decode(payload, &req); err != nil {
		return nil, err
	}
	return nil, m.dev.RemoveCard(req.Reader)
}

func (m *Counter) devDrawer(a DrawerAction) func(context.Context, string, json.RawMessage) (any, error) {
	return func(context.Context, string, json.RawMessage) (any, error) { return nil, m.dev.Drawer(a) }
}

func (m *Counter) devPrinter(c PrinterCondition) func(context.Context, string, json.RawMessage) (any, error) {
	return func(_ context.Context, _ string, payload json.RawMessage) (any, error) {
		var req struct {
			On bool `json:"on"`
		}
		if err := decode(payload, &req); err != nil {
			return nil, err
		}
		return nil, m.dev.Printer(c, req.On)
	}
}
