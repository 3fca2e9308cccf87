package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ErrDiskFull: the data partition has less free space than the station
// keeps in reserve; nothing new is written.
var ErrDiskFull = errors.New("store: the data partition is (nearly) full")

// ErrReadOnly: the data partition is mounted read-only (a worn SD card
// that the kernel remounted, for example); nothing can be written.
var ErrReadOnly = errors.New("store: the data partition is read-only")

// Space is the data partition's state.
type Space struct {
	// Free is the space available to the station, in bytes.
	Free uint64
	// ReadOnly: the partition is mounted read-only.
	ReadOnly bool
}

// Space reads the state of the partition the database is on: statfs, and
// a one-byte write probe, because a file system that stopped writing after
// an error (ext4's errors=remount-ro on a failing SD card) may still be
// mounted read-write as far as statfs tells.
func (s *Store) Space() (Space, error) {
	dir := filepath.Dir(s.path)
	sp, err := statSpace(dir)
	if err != nil {
		return sp, fmt.Errorf("store: data partition: %w", err)
	}
	if sp.ReadOnly {
		return sp, nil
	}
	switch err := probe(filepath.Join(dir, ".write-probe")); {
	case errors.Is(err, syscall.EROFS):
		sp.ReadOnly = true
	case errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT):
		sp.Free = 0
	case err != nil:
		return sp, fmt.Errorf("store: data partition: %w", err)
	}
	return sp, nil
}

// probe writes one byte to path.
func probe(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write([]byte{0})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// CheckSpace returns ErrReadOnly or ErrDiskFull when a record could not be
// written whole now: the partition is read-only, or has less than min
// bytes free. A record is checked before anything of it is written, so a
// full disk refuses an issuance cleanly instead of failing half-way into
// the printer or the registry.
func (s *Store) CheckSpace(min uint64) (Space, error) {
	sp, err := s.Space()
	switch {
	case err != nil:
		return sp, err
	case sp.ReadOnly:
		return sp, ErrReadOnly
	case sp.Free < min:
		return sp, fmt.Errorf("%w: %d bytes free, %d kept in reserve", ErrDiskFull, sp.Free, min)
	}
	return sp, nil
}
