package reconcile

import (
	"context"
	"errors"
	"fmt"

	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

// ConflictError says the registry holds a different event under some of
// this station's sequence numbers or event IDs (a restored or copied
// station database, or another station using this identity). Those events
// stay unacknowledged until a person resolves it.
type ConflictError struct {
	Seqs []int64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("reconcile: registry holds different events for %d of our sequence numbers (first %d)", len(e.Seqs), e.Seqs[0])
}

// Push sends every unacknowledged event, oldest first, in batches, and
// marks each one the registry acknowledged, batch by batch. Marking batch
// N runs while batch N+1 is on the wire; an event is marked only after the
// registry's answer for it arrived. It returns how many events were
// acknowledged.
func (c *Client) Push(ctx context.Context) (int, error) {
	type answered struct {
		first, last int64
		ok          []int64
		archived    []int64 // receipts the registry archived (retention counts from it)
	}
	marks := make(chan answered, 1)
	markErr := make(chan error, 1)
	acked := 0 // written by the marking goroutine, read after markErr
	go func() {
		var err error
		for a := range marks {
			if err != nil {
				continue // drain
			}
			now := c.clk.Now()
			err = c.st.Update(context.WithoutCancel(ctx), c.clk, func(t *store.Tx) error {
				if err := t.CountAttempt(ctx, a.first, a.last); err != nil {
					return err
				}
				if err := t.Ack(ctx, now, a.ok...); err != nil {
					return err
				}
				return t.MarkArchived(ctx, now, a.archived...)
			})
			if err == nil {
				acked += len(a.ok)
			} else {
				err = fmt.Errorf("reconcile: mark acknowledged: %w", err)
			}
		}
		markErr <- err
	}()

	var conflicts []int64
	sendErr := func() error {
		var after int64
		for {
			evs, err := c.st.PendingEvents(ctx, after, c.cfg.BatchSize)
			if err != nil {
				return fmt.Errorf("reconcile: %w", err)
			}
			if len(evs) == 0 {
				return nil
			}
			req := protocol.PushRequest{StationID: c.cfg.Identity.StationID, Events: evs}
			byseq := make(map[int64]string, len(evs))
			for _, ev := range evs {
				byseq[ev.Seq] = ev.ID
			}
			first, last := evs[0].Seq, evs[len(evs)-1].Seq
			var resp protocol.PushResponse
			if err := protocol.Post(ctx, c.hc, c.cfg.Identity.URL+protocol.PathPush, req, &resp); err != nil {
				if merr := c.st.Update(context.WithoutCancel(ctx), c.clk, func(t *store.Tx) error { return t.CountAttempt(ctx, first, last) }); merr != nil {
					c.log.Error("count delivery attempt", "err", merr)
				}
				return fmt.Errorf("reconcile: push %d events from seq %d: %w", len(evs), first, err)
			}
			ok := make([]int64, 0, len(resp.Acks))
			var archived []int64
			batchConflicts := 0
			for _, a := range resp.Acks {
				id, sent := byseq[a.Seq]
				if !sent || id != a.ID {
					continue // an ack for something we did not send in this batch: ignore
				}
				delete(byseq, a.Seq) // count each event once
				switch a.Result {
				case protocol.AckStored, protocol.AckDuplicate:
					ok = append(ok, a.Seq)
					if a.Archived {
						archived = append(archived, a.Seq)
					}
				case protocol.AckConflict:
					conflicts = append(conflicts, a.Seq)
					batchConflicts++
				}
			}
			marks <- answered{first: first, last: last, ok: ok, archived: archived}
			if len(ok)+batchConflicts < len(evs) {
				return fmt.Errorf("reconcile: registry answered for %d of %d events: %w", len(ok)+batchConflicts, len(evs), protocol.ErrBadResponse)
			}
			after = last
		}
	}()
	close(marks)
	if err := errors.Join(sendErr, <-markErr); err != nil {
		return acked, err
	}
	if len(conflicts) > 0 {
		return acked, &ConflictError{Seqs: conflicts}
	}
	return acked, nil
}
