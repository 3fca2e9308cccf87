package dataunlock

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// ErrWrongKey: the passphrase opens no key slot of the volume.
var ErrWrongKey = errors.New("dataunlock: the key does not open the data partition")

// ErrNotBlank: the partition is neither LUKS2 nor blank; it is never
// formatted over.
var ErrNotBlank = errors.New("dataunlock: the data partition is neither encrypted nor blank")

// Cryptsetup runs cryptsetup(8). Passphrases go through pipes, never on
// a command line.
type Cryptsetup struct {
	// Bin is the program; default "cryptsetup".
	Bin string
	// PBKDF overrides the key derivation's cost, e.g. {"--pbkdf", "pbkdf2",
	// "--pbkdf-force-iterations", "1000"} in tests; nil keeps cryptsetup's
	// argon2id default (about a second per unlock, which is the point).
	PBKDF []string
}

func (c Cryptsetup) bin() string {
	if c.Bin == "" {
		return "cryptsetup"
	}
	return c.Bin
}

// run runs cryptsetup with key on stdin and extra (the new key of
// luksAddKey) on fd 3, and returns its exit code.
func (c Cryptsetup) run(ctx context.Context, key, extra []byte, args ...string) (int, string, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, c.bin(), args...)
	cmd.Stdin = bytes.NewReader(key)
	cmd.Stdout, cmd.Stderr = &out, &out
	if extra != nil {
		r, w, err := os.Pipe()
		if err != nil {
			return 0, "", err
		}
		defer r.Close()
		cmd.ExtraFiles = []*os.File{r}
		go func() { _, _ = io.Copy(w, bytes.NewReader(extra)); w.Close() }()
	}
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), strings.TrimSpace(out.String()), nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("dataunlock: run %s: %w", c.bin(), err)
	}
	return 0, strings.TrimSpace(out.String()), nil
}

func (c Cryptsetup) must(ctx context.Context, what string, key, extra []byte, args ...string) error {
	code, out, err := c.run(ctx, key, extra, args...)
	if err != nil {
		return err
	}
	switch code {
	case 0:
		return nil
	case 2: // "no key available with this passphrase"
		return fmt.Errorf("%s: %w", what, ErrWrongKey)
	}
	return fmt.Errorf("dataunlock: %s: cryptsetup exit %d: %s", what, code, out)
}

// IsLUKS2 reports whether dev holds a LUKS2 header. Only cryptsetup's
// "not LUKS" (exit 1) is false; a device it cannot read (exit 4: missing,
// no access) is an error, never taken for a blank partition.
func (c Cryptsetup) IsLUKS2(ctx context.Context, dev string) (bool, error) {
	code, out, err := c.run(ctx, nil, nil, "isLuks", "--type", "luks2", dev)
	switch {
	case err != nil:
		return false, err
	case code == 0:
		return true, nil
	case code == 1:
		return false, nil
	}
	return false, fmt.Errorf("dataunlock: is %s LUKS2: cryptsetup exit %d: %s", dev, code, out)
}

// Format makes dev a LUKS2 volume with label and one key slot for key.
func (c Cryptsetup) Format(ctx context.Context, dev, label string, key []byte) error {
	args := append([]string{"luksFormat", "--batch-mode", "--type", "luks2", "--label", label, "--key-file", "-"}, c.PBKDF...)
	return c.must(ctx, "format", key, nil, append(args, dev)...)
}

// Test checks that key opens a key slot of dev, without opening it.
func (c Cryptsetup) Test(ctx context.Context, dev string, key []byte) error {
	return c.must(ctx, "test the key", key, nil, "open", "--test-passphrase", "--key-file", "-", dev)
}

// Open maps dev at /dev/mapper/name (needs device-mapper).
func (c Cryptsetup) Open(ctx context.Context, dev, name string, key []byte) error {
	return c.must(ctx, "open", key, nil, "open", "--type", "luks2", "--key-file", "-", dev, name)
}

// AddKey adds a key slot for newKey, proven by key.
func (c Cryptsetup) AddKey(ctx context.Context, dev string, key, newKey []byte) error {
	args := append([]string{"luksAddKey", "--batch-mode", "--key-file", "-"}, c.PBKDF...)
	return c.must(ctx, "add a key", key, newKey, append(args, dev, "/dev/fd/3")...)
}

// RemoveKey removes the key slot that key opens.
func (c Cryptsetup) RemoveKey(ctx context.Context, dev string, key []byte) error {
	return c.must(ctx, "remove a key", key, nil, "luksRemoveKey", "--batch-mode", "--key-file", "-", dev)
}

// Dump is luksDump's text (no secrets in it).
func (c Cryptsetup) Dump(ctx context.Context, dev string) (string, error) {
	code, out, err := c.run(ctx, nil, nil, "luksDump", dev)
	if err != nil {
		return "", err
	}
	if code != 0 {
		return "", fmt.Errorf("dataunlock: luksDump exit %d: %s", code, out)
	}
	return out, nil
}

// blank reports whether the first MiB of dev is all zeros: the image
// ships the data partition so, and only then is it formatted.
func blank(dev string) (bool, error) {
	f, err := os.Open(dev)
	if err != nil {
		return false, fmt.Errorf("dataunlock: %w", err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return false, fmt.Errorf("dataunlock: read %s: %w", dev, err)
	}
	return n > 0 && bytes.Count(buf[:n], []byte{0}) == n, nil
}
