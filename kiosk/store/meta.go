package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/sync/protocol"
)

// SetMeta stores a station_meta value.
func (t *Tx) SetMeta(ctx context.Context, key, value string) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO station_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("store: set %s: %w", key, err)
	}
	return nil
}

func meta(ctx context.Context, q querier, key string) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM station_meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: read %s: %w", key, err)
	}
	return v, nil
}

// Meta reads a station_meta value; ErrNotFound when it was never set.
func (s *Store) Meta(ctx context.Context, key string) (string, error) {
	return meta(ctx, s.reader, key)
}

// Meta reads a station_meta value in this transaction; ErrNotFound when it
// was never set.
func (t *Tx) Meta(ctx context.Context, key string) (string, error) { return meta(ctx, t.tx, key) }

// MetaRemoteLock is the station_meta key that keeps a central admin's lock
// across restarts.
const MetaRemoteLock = "remote_locked"

// RecordRemoteLock stores the central admin's lock state with its audit
// entry (actor "registry", subject the station ID).
func (t *Tx) RecordRemoteLock(ctx context.Context, stationID string, locked bool) error {
	if err := t.SetMeta(ctx, MetaRemoteLock, fmt.Sprint(locked)); err != nil {
		return fmt.Errorf("store lock state: %w", err)
	}
	kind := "station.unlocked"
	if locked {
		kind = "station.locked"
	}
	_, err := t.Audit(ctx, audit.Entry{Kind: kind, Actor: "registry", Subject: stationID})
	return err
}

// RemoteLocked reads the stored lock state (false when never set).
func (s *Store) RemoteLocked(ctx context.Context) (bool, error) {
	v, err := s.Meta(ctx, MetaRemoteLock)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read lock state: %w", err)
	}
	return v == "true", nil
}

// RecordAuditCheckpoint queues an audit.checkpoint event with the head of
// the audit chain when it moved since the checkpoint recorded under
// metaKey, and records the new checkpoint. sign signs the checkpoint with
// the station key before it is queued (protocol.SignCheckpoint).
func (t *Tx) RecordAuditCheckpoint(ctx context.Context, metaKey string, sign func(*protocol.AuditCheckpointPayload) error) error {
	head, err := auditHead(ctx, t.tx)
	if err != nil {
		return err
	}
	if head.Seq == 0 {
		return nil
	}
	last, err := t.Meta(ctx, metaKey)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if last == fmt.Sprint(head.Seq) {
		return nil
	}
	cp := protocol.AuditCheckpointPayload{Seq: head.Seq, Hash: head.Hash}
	if err := sign(&cp); err != nil {
		return fmt.Errorf("sign audit checkpoint: %w", err)
	}
	if _, err := t.Enqueue(ctx, cp); err != nil {
		return err
	}
	return t.SetMeta(ctx, metaKey, fmt.Sprint(head.Seq))
}
