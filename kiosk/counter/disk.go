package counter

import (
	"context"
	"errors"
	"time"

	"github.com/kortstation/kortstation/kiosk/store"
)

// DefaultMinFreeSpace is the free space on the data partition below which
// the station refuses new records: enough for the records of a day, the
// WAL's checkpoint and the audit entries that say what happened.
const DefaultMinFreeSpace = 64 << 20

// diskPoll is how often the data partition is looked at between requests.
const diskPoll = 10 * time.Second

var (
	errDiskFull = refuse(msg("disk.full", "Stationens datadisk är full. Inget har sparats. Kontakta teknisk support; stationen fungerar igen när utrymme har frigjorts.",
		"The station's data disk is full. Nothing was saved. Contact technical support; the station works again once space has been freed."))
	errDiskReadOnly = refuse(msg("disk.readonly", "Stationens datadisk går inte att skriva till. Inget har sparats. Kontakta teknisk support.",
		"The station's data disk cannot be written to. Nothing was saved. Contact technical support."))
)

// checkDisk refuses a step that may write a record while the data
// partition is read-only or has less than the reserve free, before
// anything is written; it keeps the disk's state on the status screen and
// in the status the registry is sent.
func (m *Counter) checkDisk(ctx context.Context) error {
	_, err := m.st.CheckSpace(m.opts.MinFreeSpace)
	m.setDisk(err)
	switch {
	case errors.Is(err, store.ErrReadOnly):
		return errDiskReadOnly
	case errors.Is(err, store.ErrDiskFull):
		return errDiskFull
	case err != nil:
		m.log.Error("data partition not readable", "err", err)
		return errDiskFull
	}
	return nil
}

// setDisk records the disk's state as a device ("disk": ok, full,
// read_only). A disk that has just become full or read-only asks for a
// sync, so the registry hears of it at once when it is reachable (the
// status every sync sends carries the hardware states).
func (m *Counter) setDisk(err error) {
	state := "ok"
	switch {
	case errors.Is(err, store.ErrReadOnly):
		state = "read_only"
	case err != nil:
		state = "full"
	}
	prev := m.devices()["disk"].State
	m.setDevice("disk", state, "", m.clock.Now())
	if state == prev || state == "ok" {
		return
	}
	m.log.Error("data partition cannot take new records; issuing refused", "state", state)
	m.devMu.Lock()
	sy := m.sync
	m.devMu.Unlock()
	if sy != nil {
		if err := sy.SyncNow(); err != nil {
			m.log.Warn("sync for the disk alarm not started", "err", err)
		}
	}
}

// watchDisk looks at the data partition every diskPoll, so the status and
// the registry learn of a full disk before anyone tries to issue.
func (m *Counter) watchDisk(ctx context.Context) error {
	t := time.NewTicker(diskPoll)
	defer t.Stop()
	for {
		_, err := m.st.CheckSpace(m.opts.MinFreeSpace)
		m.setDisk(err)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// diskRefusal turns an error that is no refusal into the disk's refusal
// when the data partition is why it failed (a write on a read-only or full
// partition, e.g. a login's): the operator reads what to do rather than
// "internal error". The error itself is logged, once, as broken.
func (m *Counter) diskRefusal(typ string, err error) error {
	var p *Refusal
	if err == nil || errors.As(err, &p) {
		return err
	}
	_, serr := m.st.CheckSpace(m.opts.MinFreeSpace)
	if serr == nil {
		return err
	}
	m.setDisk(serr)
	m.log.Error("request failed on the data partition", "request", typ, "err", err)
	if errors.Is(serr, store.ErrReadOnly) {
		return errDiskReadOnly
	}
	return errDiskFull
}
