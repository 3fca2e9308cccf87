package dataunlock_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kortstation/kortstation/images/dataunlock"
)

// These tests run real cryptsetup on a partition image file (`make test`
// installs cryptsetup-bin). This machine has no device-mapper, so the one
// step they cannot take is mapping the volume: fileVolume checks that the
// key opens a key slot (open --test-passphrase) where the station would
// map it; the QEMU boot or hardware runs the mapping (docs/appliance.md).

// fast keeps key derivation cheap in tests (argon2id takes seconds).
var fast = dataunlock.Cryptsetup{PBKDF: []string{"--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"}}

// fileVolume is Cryptsetup with Open as far as a file allows.
type fileVolume struct {
	dataunlock.Cryptsetup
	opened []string
}

func (v *fileVolume) Open(ctx context.Context, dev, name string, key []byte) error {
	if err := v.Test(ctx, dev, key); err != nil {
		return err
	}
	v.opened = append(v.opened, name)
	return nil
}

// fakeOTP is the kortstation_otp module's device with the OTP in a file:
// 32 zero bytes on a new board.
func fakeOTP(t *testing.T) (dataunlock.RPiOTP, string) {
	t.Helper()
	otp := filepath.Join(t.TempDir(), "kortstation-otp")
	if err := os.WriteFile(otp, make([]byte, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	return dataunlock.RPiOTP{Path: otp}, otp
}

// The OTP key source never takes a board it cannot read for a new one, and
// never writes a second key over the first (issue 15, encryption at rest).
func TestRPiOTPKeySource(t *testing.T) {
	ctx := context.Background()
	t.Run("blank: no secret, then provisioned once and read back", func(t *testing.T) {
		otp, file := fakeOTP(t)
		if _, err := otp.Secret(ctx); !errors.Is(err, dataunlock.ErrNoSecret) {
			t.Fatalf("blank OTP: err = %v, want ErrNoSecret", err)
		}
		if err := otp.Provision(ctx); err != nil {
			t.Fatal(err)
		}
		key, err := otp.Secret(ctx)
		if err != nil || len(key) != 32 || bytes.Equal(key, make([]byte, 32)) {
			t.Fatalf("after provisioning: %x, %v", key, err)
		}
		if _, err := ecdh.P256().NewPrivateKey(key); err != nil {
			t.Errorf("the key is not a P-256 scalar, which the firmware's crypto services need: %v", err)
		}
		raw, _ := os.ReadFile(file)
		if !bytes.Equal(raw, key) {
			t.Errorf("the device holds %x, the source read %x", raw, key)
		}
		if err := otp.Provision(ctx); err == nil || !strings.Contains(err.Error(), "never written twice") {
			t.Errorf("second provisioning: err = %v, want a refusal", err)
		}
		if again, _ := os.ReadFile(file); !bytes.Equal(again, key) {
			t.Errorf("a second provisioning changed the OTP")
		}
	})
	t.Run("no device (firmware without the key, module not loaded): an error, not a new board", func(t *testing.T) {
		otp := dataunlock.RPiOTP{Path: filepath.Join(t.TempDir(), "absent")}
		_, err := otp.Secret(ctx)
		if err == nil || errors.Is(err, dataunlock.ErrNoSecret) {
			t.Fatalf("err = %v, want an error that is not ErrNoSecret", err)
		}
		if err := otp.Provision(ctx); err == nil {
			t.Errorf("provisioned a key into a device that does not exist")
		}
	})
	t.Run("a short read is an error", func(t *testing.T) {
		otp, file := fakeOTP(t)
		if err := os.WriteFile(file, []byte{1, 2, 3}, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := otp.Secret(ctx); err == nil || errors.Is(err, dataunlock.ErrNoSecret) {
			t.Errorf("err = %v, want a read error", err)
		}
	})
}

// partition is a blank 24 MiB partition image (LUKS2 needs 16 MiB of header).
func partition(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ksdata.img")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, 24<<20); err != nil {
		t.Fatal(err)
	}
	return p
}

func config(dev string, src dataunlock.KeySource, v *fileVolume, mkfs *[]string) dataunlock.Config {
	return dataunlock.Config{Device: dev, Name: "ksdata", Label: "KSDATA", Source: src, Volume: v,
		Mkfs: func(_ context.Context, dev, label string) error { *mkfs = append(*mkfs, dev+" "+label); return nil }}
}

func TestFirstBootEncryptsThenLaterBootsOpen(t *testing.T) {
	ctx := context.Background()
	otp, otpFile := fakeOTP(t)
	dev := partition(t)
	v := &fileVolume{Cryptsetup: fast}
	var mkfs []string
	res, err := dataunlock.Unlock(ctx, config(dev, otp, v, &mkfs))
	if err != nil {
		t.Fatalf("first boot: %v", err)
	}
	if !res.Provisioned || !res.Formatted || res.Mapped != "/dev/mapper/ksdata" || len(mkfs) != 1 || mkfs[0] != "/dev/mapper/ksdata KSDATA" {
		t.Fatalf("first boot: %+v, mkfs %v; want provisioned, formatted, a file system made in the mapping", res, mkfs)
	}
	if ok, err := fast.IsLUKS2(ctx, dev); !ok || err != nil {
		t.Fatalf("the partition is not LUKS2 after the first boot: %v", err)
	}
	dump, err := fast.Dump(ctx, dev)
	if err != nil || !strings.Contains(dump, "LUKS header information") || !strings.Contains(dump, "KSDATA") {
		t.Errorf("luksDump: %v\n%s", err, dump)
	}
	// The key is the OTP secret's derivation: it opens the volume.
	secret, err := otp.Secret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pass, err := dataunlock.Passphrase(secret, "KSDATA")
	if err != nil {
		t.Fatal(err)
	}
	if err := fast.Test(ctx, dev, pass); err != nil {
		t.Errorf("the derived passphrase does not open the volume: %v", err)
	}
	// Neither the secret nor the passphrase is in the header.
	raw, _ := os.ReadFile(dev)
	if bytes.Contains(raw, pass) || bytes.Contains(raw, secret) {
		t.Error("the partition holds the key in the clear")
	}

	otpBefore, _ := os.ReadFile(otpFile)
	res, err = dataunlock.Unlock(ctx, config(dev, otp, v, &mkfs))
	if err != nil || res.Provisioned || res.Formatted || len(mkfs) != 1 || len(v.opened) != 2 {
		t.Fatalf("second boot: %+v %v (mkfs %v, opened %v), want only opened", res, err, mkfs, v.opened)
	}
	if otpAfter, _ := os.ReadFile(otpFile); !bytes.Equal(otpBefore, otpAfter) {
		t.Error("the second boot wrote the OTP")
	}
}

// TestCardInAnotherDeviceStaysClosed plays the thief: the SD card in
// another Pi, one with its own OTP key and one with none. Neither opens
// the volume; the second is not given a key for it either.
func TestCardInAnotherDeviceStaysClosed(t *testing.T) {
	ctx := context.Background()
	otp, _ := fakeOTP(t)
	dev := partition(t)
	var mkfs []string
	if _, err := dataunlock.Unlock(ctx, config(dev, otp, &fileVolume{Cryptsetup: fast}, &mkfs)); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(dev)

	other, _ := fakeOTP(t)
	if err := other.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	v := &fileVolume{Cryptsetup: fast}
	if _, err := dataunlock.Unlock(ctx, config(dev, other, v, &mkfs)); !errors.Is(err, dataunlock.ErrWrongKey) || len(v.opened) != 0 {
		t.Errorf("another Pi's key: %v (opened %v), want ErrWrongKey", err, v.opened)
	}

	blankPi, blankOTP := fakeOTP(t)
	_, err := dataunlock.Unlock(ctx, config(dev, blankPi, v, &mkfs))
	if err == nil || !strings.Contains(err.Error(), "encrypted on another device") {
		t.Errorf("a Pi without a key: %v, want a refusal", err)
	}
	if got, _ := os.ReadFile(blankOTP); !bytes.Equal(got, make([]byte, 32)) {
		t.Error("a key was written into the other Pi's OTP for a volume it cannot open")
	}
	if after, _ := os.ReadFile(dev); !bytes.Equal(before, after) {
		t.Error("the refused attempts changed the partition")
	}
}

// TestNeverFormatsOverData: a partition holding anything but zeros (an
// old plain file system, or noise) is refused and left as it was.
func TestNeverFormatsOverData(t *testing.T) {
	ctx := context.Background()
	for name, prepare := range map[string]func(t *testing.T, dev string){
		"plain ext4": func(t *testing.T, dev string) {
			if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-L", "KSDATA", dev).CombinedOutput(); err != nil {
				t.Fatalf("mkfs.ext4: %v: %s", err, out)
			}
		},
		"noise": func(t *testing.T, dev string) {
			b := make([]byte, 4096)
			rand.Read(b)
			f, err := os.OpenFile(dev, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt(b, 512<<10); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			otp, _ := fakeOTP(t)
			dev := partition(t)
			prepare(t, dev)
			before, _ := os.ReadFile(dev)
			var mkfs []string
			if _, err := dataunlock.Unlock(ctx, config(dev, otp, &fileVolume{Cryptsetup: fast}, &mkfs)); !errors.Is(err, dataunlock.ErrNotBlank) {
				t.Fatalf("got %v, want ErrNotBlank", err)
			}
			if after, _ := os.ReadFile(dev); !bytes.Equal(before, after) || len(mkfs) != 0 {
				t.Error("the partition was changed")
			}
			// The OTP can be written once: no key is made for a
			// partition this boot will not encrypt.
			if _, err := otp.Secret(ctx); !errors.Is(err, dataunlock.ErrNoSecret) {
				t.Errorf("a key was programmed for a partition that was refused (%v)", err)
			}
		})
	}
	t.Run("a missing device: an error, and no key made", func(t *testing.T) {
		otp, _ := fakeOTP(t)
		var mkfs []string
		_, err := dataunlock.Unlock(ctx, config(filepath.Join(t.TempDir(), "absent"), otp, &fileVolume{Cryptsetup: fast}, &mkfs))
		if err == nil || len(mkfs) != 0 {
			t.Fatalf("err = %v, mkfs %v; want an error and nothing made", err, mkfs)
		}
		if _, err := otp.Secret(ctx); !errors.Is(err, dataunlock.ErrNoSecret) {
			t.Errorf("a key was programmed for a device that does not exist (%v)", err)
		}
	})
}

// TestKeyRotation: a new key slot is added with the old key, the old slot
// removed; the old key opens nothing afterwards.
func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	dev := partition(t)
	oldKey, newKey := []byte(strings.Repeat("a", 64)), []byte(strings.Repeat("b", 64))
	if err := fast.Format(ctx, dev, "KSDATA", oldKey); err != nil {
		t.Fatal(err)
	}
	if err := fast.AddKey(ctx, dev, []byte("wrong"), newKey); !errors.Is(err, dataunlock.ErrWrongKey) {
		t.Errorf("adding a key with a wrong one: %v, want ErrWrongKey", err)
	}
	if err := fast.AddKey(ctx, dev, oldKey, newKey); err != nil {
		t.Fatal(err)
	}
	if err := fast.Test(ctx, dev, newKey); err != nil {
		t.Errorf("new key: %v", err)
	}
	if err := fast.RemoveKey(ctx, dev, oldKey); err != nil {
		t.Fatal(err)
	}
	if err := fast.Test(ctx, dev, oldKey); !errors.Is(err, dataunlock.ErrWrongKey) {
		t.Errorf("old key after its removal: %v, want ErrWrongKey", err)
	}
	if err := fast.Test(ctx, dev, newKey); err != nil {
		t.Errorf("new key after the rotation: %v", err)
	}
}

// TestSealedSecret: the TPM's way, with systemd-creds' host key standing
// in for the TPM (same code path, another --with-key): the secret is
// sealed once, unsealed the same every boot, never replaced, and a file
// sealed on another machine does not unseal.
func TestSealedSecret(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := dataunlock.Sealed{Path: filepath.Join(dir, "data.cred"), Key: "host", Env: []string{"SYSTEMD_CREDENTIAL_SECRET=" + filepath.Join(dir, "host.secret")}}
	if _, err := src.Secret(ctx); !errors.Is(err, dataunlock.ErrNoSecret) {
		t.Fatalf("before provisioning: %v, want ErrNoSecret", err)
	}
	dev := partition(t)
	var mkfs []string
	res, err := dataunlock.Unlock(ctx, config(dev, src, &fileVolume{Cryptsetup: fast}, &mkfs))
	if err != nil || !res.Provisioned || !res.Formatted {
		t.Fatalf("first boot: %+v %v", res, err)
	}
	a, err := src.Secret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := src.Secret(ctx)
	if err != nil || !bytes.Equal(a, b) || len(a) != 32 {
		t.Fatalf("unsealed twice: %x / %x (%v)", a, b, err)
	}
	if err := src.Provision(ctx); err == nil {
		t.Error("a sealed secret was replaced")
	}
	if sealed, _ := os.ReadFile(src.Path); bytes.Contains(sealed, a) {
		t.Error("the sealed file holds the secret in the clear")
	}
	thief := src
	thief.Env = []string{"SYSTEMD_CREDENTIAL_SECRET=" + filepath.Join(t.TempDir(), "other.secret")}
	if _, err := thief.Secret(ctx); err == nil {
		t.Error("a file sealed on this machine unsealed with another machine's key")
	}
}

func TestPassphrase(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	a, err := dataunlock.Passphrase(secret, "KSDATA")
	if err != nil || len(a) != 64 {
		t.Fatalf("%q %v", a, err)
	}
	if b, _ := dataunlock.Passphrase(secret, "KSDATA"); !bytes.Equal(a, b) {
		t.Error("not deterministic")
	}
	if c, _ := dataunlock.Passphrase(secret, "OTHER"); bytes.Equal(a, c) {
		t.Error("another volume gets the same passphrase")
	}
	if bytes.Contains(a, []byte("0707070707")) {
		t.Error("the passphrase shows the secret")
	}
	if _, err := dataunlock.Passphrase([]byte("short"), "KSDATA"); err == nil {
		t.Error("a 5-byte secret accepted")
	}
}

// TestPopulateFromSkeleton: the first boot's new file system gets the
// image's data skeleton, ownership and modes kept (here on an ext4 image
// file mounted through a loop device, as the mapped volume would be).
func TestPopulateFromSkeleton(t *testing.T) {
	ctx := context.Background()
	skel := t.TempDir()
	if err := os.MkdirAll(filepath.Join(skel, "kortstation"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(skel, "kortstation"), 4242, 4343); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(skel, "cups"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(skel, "cups", "cupsd.conf"), []byte("Listen localhost:631\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	img := partition(t)
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-L", "KSDATA", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	if err := dataunlock.PopulateFrom(skel)(ctx, img); err != nil {
		t.Fatalf("populate: %v", err)
	}
	// Read it back with debugfs, without mounting again.
	stat := func(path string) string {
		out, err := exec.Command("debugfs", "-R", "stat "+path, img).CombinedOutput()
		if err != nil {
			t.Fatalf("debugfs stat %s: %v: %s", path, err, out)
		}
		return string(out)
	}
	if st := stat("/kortstation"); !strings.Contains(st, "User:  4242") || !strings.Contains(st, "Group:  4343") || !strings.Contains(st, "Mode:  0700") {
		t.Errorf("/kortstation on the new file system:\n%s", st)
	}
	if st := stat("/cups/cupsd.conf"); !strings.Contains(st, "Mode:  0640") || !strings.Contains(st, "Size: 21") {
		t.Errorf("/cups/cupsd.conf on the new file system:\n%s", st)
	}
}

// The QEMU boot test's stand-in for the OTP: the host's secret, read, never
// made by the guest; none given is ErrNoSecret, so an encrypted partition
// stays closed and a blank one is not formatted.
func TestFwCfgSecret(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := dataunlock.FwCfg{Path: filepath.Join(dir, "raw")}
	if _, err := src.Secret(ctx); !errors.Is(err, dataunlock.ErrNoSecret) {
		t.Fatalf("no secret given: err = %v, want dataunlock.ErrNoSecret", err)
	}
	if err := src.Provision(ctx); err == nil {
		t.Fatal("the guest made a secret")
	}
	want := bytes.Repeat([]byte{0xA5}, 32)
	if err := os.WriteFile(src.Path, []byte(hex.EncodeToString(want)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := src.Secret(ctx)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Secret = %x, %v; want %x", got, err, want)
	}
	if err := os.WriteFile(src.Path, []byte("not hex"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Secret(ctx); err == nil || errors.Is(err, dataunlock.ErrNoSecret) {
		t.Fatalf("a malformed secret: err = %v", err)
	}
}
