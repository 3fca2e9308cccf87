package app

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// uiTokenBytes is the UI token's strength: 256 bits.
const uiTokenBytes = 32

// uiToken returns the per-boot token the kiosk browser must present on the
// UI websocket. A token already in path is reused if it is this user's,
// not writable by anyone else and well-formed — kioskd restarted within the
// boot, and the kiosk page keeps working; anything else is replaced by a
// new token. The file is 0640: on the appliance its directory is setgid to
// the display user's group (tmpfiles.d), so the kiosk browser can read it
// and nobody else can. On a tmpfs (/run) it lasts one boot.
func uiToken(path string) (string, error) {
	if tok, ok := existingToken(path); ok {
		return tok, nil
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("ui token: %w", err)
	}
	b := make([]byte, uiTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("ui token: %w", err)
	}
	tok := hex.EncodeToString(b)
	tmp, err := os.CreateTemp(dir, ".ui-token-*")
	if err != nil {
		return "", fmt.Errorf("ui token: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o640); err != nil {
		tmp.Close()
		return "", fmt.Errorf("ui token: %w", err)
	}
	if _, err := tmp.WriteString(tok + "\n"); err != nil {
		tmp.Close()
		return "", fmt.Errorf("ui token: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("ui token: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("ui token: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("ui token: %w", err)
	}
	return tok, nil
}

func existingToken(path string) (string, bool) {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o027 != 0 {
		return "", false
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Getuid() {
		return "", false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	tok := strings.TrimSpace(string(b))
	if raw, err := hex.DecodeString(tok); err != nil || len(raw) != uiTokenBytes {
		return "", false
	}
	return tok, true
}
