package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The station's data is personal data: its directory is the station
// user's alone and the database files are not readable by anyone else.
const (
	dirMode  fs.FileMode = 0o700
	fileMode fs.FileMode = 0o600
)

// secureDir creates the data directory 0700, or narrows an existing one
// that is open to its group or others.
func secureDir(dir string) error {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("store: create data dir: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("store: data dir: %w", err)
	}
	if fi.Mode().Perm()&^dirMode != 0 {
		if err := os.Chmod(dir, dirMode); err != nil {
			return fmt.Errorf("store: narrow data dir %s to 0700: %w", dir, err)
		}
	}
	return nil
}

// createFile creates the database file 0600 before SQLite does (SQLite
// creates its journal files with the database's mode).
func createFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	return f.Close()
}

// secureFiles narrows the database and its WAL and shared-memory files to
// 0600 (files made by an older version, or copied in by hand).
func secureFiles(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if fi.Mode().Perm()&^fileMode != 0 {
			if err := os.Chmod(p, fileMode); err != nil {
				return fmt.Errorf("store: narrow %s to 0600: %w", filepath.Base(p), err)
			}
		}
	}
	return nil
}

// plainFiles refuses a database, WAL or shared-memory file that is there
// but is not a regular file: a symlink planted in the data directory (while
// it was open to others) would have the station write personal data, or
// narrow modes, wherever it points.
func plainFiles(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("store: %s is not a regular file (%s); refusing to open it: %w", p, fi.Mode().Type(), ErrNotDatabase)
		}
	}
	return nil
}
