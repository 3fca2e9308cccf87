package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/sync/protocol"
)

// AuditUpdate is the audit log kind of an update's outcome.
const AuditUpdate = "station.update"

// metaUpdateRecorded holds the key of the last update outcome recorded:
// an outcome is recorded once, whoever reads its file first (kioskd
// serving, or `kioskd health` after a boot).
const metaUpdateRecorded = "update.outcome_recorded"

// RecordUpdateResult records an update's outcome in this transaction: its
// audit entry and its update_result event for the registry. key names the
// outcome (the same outcome read twice has the same key); an outcome whose
// key was the last one recorded is not recorded again, and false is
// returned.
func (t *Tx) RecordUpdateResult(ctx context.Context, stationID, key string, p protocol.UpdateResultPayload) (bool, error) {
	last, err := t.Meta(ctx, metaUpdateRecorded)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, err
	}
	if key != "" && last == key {
		return false, nil
	}
	detail := map[string]any{"result": p.Result, "slot": p.Slot, "version": p.Version, "reason": p.Reason, "at": p.At.UTC().Format(time.RFC3339)}
	if p.FromVersion != "" {
		detail["from_version"] = p.FromVersion
	}
	if _, err := t.Audit(ctx, audit.Entry{Kind: AuditUpdate, Actor: "station", Subject: stationID, Detail: detail}); err != nil {
		return false, err
	}
	if _, err := t.Enqueue(ctx, p); err != nil {
		return false, err
	}
	if key != "" {
		if err := t.SetMeta(ctx, metaUpdateRecorded, key); err != nil {
			return false, err
		}
	}
	return true, nil
}

// PendingOfKinds counts the unacknowledged outbox events of the given
// kinds (an update waits while a record of an issuance is not at the
// registry).
func (s *Store) PendingOfKinds(ctx context.Context, kinds ...string) (int64, error) {
	if len(kinds) == 0 {
		return 0, nil
	}
	args := make([]any, len(kinds))
	for i, k := range kinds {
		args[i] = k
	}
	q := `SELECT count(*) FROM outbox WHERE acked_at IS NULL AND kind IN (?` + strings.Repeat(", ?", len(kinds)-1) + `)`
	var n int64
	if err := s.reader.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox: pending of kinds: %w", err)
	}
	return n, nil
}
