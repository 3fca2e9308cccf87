package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/kortstation/kortstation/sync/protocol"
)

func (s *Server) handleControl(w http.ResponseWriter, r *http.Request) {
	var req protocol.ControlRequest
	if err := protocol.ReadRequest(r, &req); err != nil {
		protocol.WriteError(w, http.StatusBadRequest, protocol.CodeBadRequest, err.Error())
		return
	}
	if !checkBodyStation(w, r, req.StationID) {
		return
	}
	wait := time.Duration(req.WaitSeconds) * time.Second
	if wait <= 0 || wait > s.cfg.MaxWait {
		wait = s.cfg.MaxWait
	}
	cmds, err := s.poll(r.Context(), req.StationID, req.After, wait)
	if errors.Is(err, errRevokedDuringPoll) {
		w.Header().Set("Connection", "close")
		protocol.WriteError(w, http.StatusForbidden, protocol.CodeRevoked, "station certificate revoked")
		return
	}
	if err != nil {
		s.log.Error("control poll", "station", req.StationID, "err", err)
		protocol.WriteError(w, http.StatusInternalServerError, protocol.CodeInternal, "could not read commands")
		return
	}
	_ = protocol.WriteJSON(w, http.StatusOK, protocol.ControlResponse{Commands: cmds})
}

// errRevokedDuringPoll ends a long poll whose station certificate was
// revoked while it waited.
var errRevokedDuringPoll = errors.New("station certificate revoked")

// poll acknowledges commands up to after and waits for newer ones.
func (s *Server) poll(ctx context.Context, station string, after int64, wait time.Duration) ([]protocol.Command, error) {
	s.liveMu.Lock()
	s.live[station] = s.now()
	s.liveMu.Unlock()
	if after > 0 {
		err := s.db.write(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE commands SET acked_at = ? WHERE station_id = ? AND id <= ? AND acked_at IS NULL`,
				s.now().UTC().Format(time.RFC3339), station, after)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("ack commands: %w", err)
		}
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		woken := s.hub.wait(station)
		if serial := serialFrom(ctx); serial != "" && s.isRevoked(serial) {
			return nil, errRevokedDuringPoll
		}
		list, err := s.pendingCommands(ctx, station, after)
		if err != nil || len(list) > 0 {
			return list, err
		}
		select {
		case <-woken:
		case <-timer.C:
			return nil, nil
		case <-ctx.Done():
			return nil, nil
		}
	}
}

func (s *Server) pendingCommands(ctx context.Context, station string, after int64) ([]protocol.Command, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT id, kind, created_at FROM commands WHERE station_id = ? AND id > ? AND acked_at IS NULL ORDER BY id LIMIT 100`, station, after)
	if err != nil {
		return nil, fmt.Errorf("read commands: %w", err)
	}
	defer rows.Close()
	var out []protocol.Command
	for rows.Next() {
		var c protocol.Command
		var at string
		if err := rows.Scan(&c.ID, &c.Kind, &at); err != nil {
			return nil, fmt.Errorf("read commands: %w", err)
		}
		c.CreatedAt, _ = time.Parse(time.RFC3339Nano, at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// SendCommand queues a command for station and wakes its long poll.
func (s *Server) SendCommand(ctx context.Context, station, kind string) (int64, error) {
	switch kind {
	case protocol.CmdSyncNow, protocol.CmdLock, protocol.CmdUnlock:
	default:
		return 0, fmt.Errorf("registry: unknown command %q: %w", kind, ErrInvalid)
	}
	var id int64
	err := s.db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE stations SET locked = CASE ? WHEN 'lock' THEN 1 WHEN 'unlock' THEN 0 ELSE locked END WHERE id = ?`, kind, station)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("registry: station %q: %w", station, ErrNotFound)
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO commands (station_id, kind, created_at) VALUES (?, ?, ?) RETURNING id`,
			station, kind, s.now().UTC().Format(time.RFC3339Nano)).Scan(&id); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.hub.notify(station)
	s.tellPeers(ctx, peerCommand, station)
	s.log.Info("command queued", "station", station, "command", kind, "id", id)
	return id, nil
}
