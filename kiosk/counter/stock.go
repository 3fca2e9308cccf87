package counter

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
)

func (m *Counter) stockStep(ctx context.Context, f *flowState, step Action, data json.RawMessage) error {
	var req struct {
		Serial  string   `json:"serial"`
		Serials []string `json:"serials"`
	}
	if err := decode(data, &req); err != nil {
		return err
	}
	switch {
	case f.kind == KindStockReceive && step == ActAdd && f.step == StepScan:
		return m.addReceived(ctx, f, req.Serial)
	case f.kind == KindStockReceive && step == ActCommit && f.step == StepScan:
		return m.receive(ctx, f)
	case f.kind == KindStockCount && step == ActMark && f.step == StepCount:
		s := strings.TrimSpace(req.Serial)
		if i := slices.Index(f.serials, s); i >= 0 {
			f.serials = slices.Delete(f.serials, i, i+1)
		} else if s != "" {
			f.serials = append(f.serials, s)
		}
		return nil
	case f.kind == KindStockCount && step == ActCommit && f.step == StepCount:
		return m.count(ctx, f)
	case f.kind == KindStockVoid && step == ActVoid && (f.step == StepChoose || f.step == StepDone):
		return m.void(ctx, f, strings.TrimSpace(req.Serial))
	}
	return errWrongStep
}
