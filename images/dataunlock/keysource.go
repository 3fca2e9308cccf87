// Package dataunlock opens the appliance's encrypted data partition at
// boot (issue 15, encryption at rest): a LUKS2 volume whose passphrase is
// derived from a secret only this device holds, so an SD card taken out of
// a station reveals nothing. The secret comes from a KeySource: the
// Raspberry Pi's one-time-programmable private key (RPiOTP), or on other
// boxes a random secret sealed by the TPM (Sealed with systemd-creds'
// tpm2 key). At the first boot the partition is blank: the secret is made,
// the volume formatted and a file system made in it; at every later boot
// the volume is opened, and a wrong key or a partition that is neither
// blank nor LUKS2 stops the boot rather than mount anything in the clear.
//
// docs/appliance.md ("Encryption at rest") gives the threat model.
package dataunlock

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// ErrNoSecret: the key source holds no secret yet (a new device).
var ErrNoSecret = errors.New("dataunlock: the key source holds no secret yet")

// KeySource is where the device-unique secret lives.
type KeySource interface {
	// Name says which source it is, for the log.
	Name() string
	// Secret returns the secret, or ErrNoSecret on a new device.
	Secret(ctx context.Context) ([]byte, error)
	// Provision makes the secret; only ever on a device without one.
	Provision(ctx context.Context) error
}

// passphraseInfo binds a derived passphrase to its use and version.
const passphraseInfo = "kortstation data partition v1"

// Passphrase is the LUKS passphrase of volume (a stable name of the
// partition, e.g. "KSDATA") from the device secret: HKDF-SHA256, so the
// raw secret is never itself a LUKS key, and another volume or use gets
// another key. Hex, 64 characters.
func Passphrase(secret []byte, volume string) ([]byte, error) {
	if len(secret) < 16 {
		return nil, fmt.Errorf("dataunlock: a secret of %d bytes is too short", len(secret))
	}
	key, err := hkdf.Key(sha256.New, secret, []byte(volume), passphraseInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("dataunlock: derive passphrase: %w", err)
	}
	return []byte(hex.EncodeToString(key)), nil
}

// OTPDevice is the Raspberry Pi's OTP private key as the kortstation_otp
// kernel module (images/kmod/kortstation-otp) shows it: root only, a read
// gives the 32-byte key (zeros where never programmed), a 32-byte write
// programs a blank one.
const OTPDevice = "/dev/kortstation-otp"

// OTPModule is that module's name, for modprobe.
const OTPModule = "kortstation_otp"

// RPiOTP is the Raspberry Pi's 256-bit OTP private key: the SoC keeps it in
// one-time-programmable memory only the board's firmware reads, so it
// cannot be read from the SD card. It is reached through OTPDevice (the
// kortstation_otp module, since the image's Debian kernel has no
// /dev/vcio for Raspberry Pi OS's rpi-otp-private-key). It can be
// written once.
type RPiOTP struct {
	// Path is the device; default OTPDevice.
	Path string
}

// Name is "rpi-otp".
func (RPiOTP) Name() string { return "rpi-otp" }

func (o RPiOTP) path() string {
	if o.Path == "" {
		return OTPDevice
	}
	return o.Path
}

// otpKeySize is the OTP key: eight 32-bit rows.
const otpKeySize = 32

// Secret reads the OTP key. All zeros means never written: ErrNoSecret. A
// missing device is an error, never a new device: a board whose firmware
// cannot give the key must not be taken for one that has none yet.
func (o RPiOTP) Secret(context.Context) ([]byte, error) {
	f, err := os.Open(o.path())
	if err != nil {
		return nil, fmt.Errorf("dataunlock: read the OTP key: %w", err)
	}
	defer f.Close()
	key := make([]byte, otpKeySize)
	if _, err := io.ReadFull(f, key); err != nil {
		return nil, fmt.Errorf("dataunlock: read the OTP key from %s: %w", o.path(), err)
	}
	if bytes.Equal(key, make([]byte, otpKeySize)) {
		return nil, ErrNoSecret
	}
	return key, nil
}

// Provision writes a random key into the OTP and reads it back. It refuses
// when one is there already (OTP bits never go back to 0; a second key
// would be the OR of both and lose the first); the module refuses that
// too.
func (o RPiOTP) Provision(ctx context.Context) error {
	if _, err := o.Secret(ctx); !errors.Is(err, ErrNoSecret) {
		if err == nil {
			return errors.New("dataunlock: the OTP already holds a key; it is never written twice")
		}
		return err
	}
	// A P-256 private scalar, not just 32 random bytes: Raspberry Pi's
	// firmware crypto services read these rows as one, and refuse a
	// value outside the curve's order.
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("dataunlock: random key: %w", err)
	}
	key := priv.Bytes()
	f, err := os.OpenFile(o.path(), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("dataunlock: write the OTP key: %w", err)
	}
	_, werr := f.Write(key)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("dataunlock: write the OTP key: %w", werr)
	}
	got, err := o.Secret(ctx)
	if err != nil {
		return fmt.Errorf("dataunlock: read back the OTP key: %w", err)
	}
	if !bytes.Equal(got, key) {
		return errors.New("dataunlock: the OTP key read back is not the key written")
	}
	return nil
}

// Sealed is a random secret kept in a file sealed by systemd-creds: with
// Key "tpm2" only this machine's TPM can unseal it (the file may sit on
// the boot partition); "host" uses the host key instead (for tests, or a
// box without a TPM — then the secret is only as safe as that key).
type Sealed struct {
	// Path is the sealed file.
	Path string
	// Key is systemd-creds' --with-key: "tpm2" (default) or "host".
	Key string
	// Env is added to systemd-creds' environment (tests point
	// SYSTEMD_CREDENTIAL_SECRET at their own host key).
	Env []string
}

// credName binds the sealed file to its use: systemd-creds refuses it
// under another name.
const credName = "kortstation-data"

// Name is "sealed-<key>".
func (s Sealed) Name() string { return "sealed-" + s.key() }

func (s Sealed) key() string {
	if s.Key == "" {
		return "tpm2"
	}
	return s.Key
}

func (s Sealed) creds(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, "systemd-creds", append([]string{"--with-key=" + s.key(), "--name=" + credName}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(stdin), &out, &errb
	cmd.Env = append(os.Environ(), s.Env...)
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("systemd-creds %s: %w: %s", args[0], err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

// Secret unseals the file; a missing file is ErrNoSecret.
func (s Sealed) Secret(ctx context.Context) ([]byte, error) {
	if _, err := os.Stat(s.Path); errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoSecret
	}
	out, err := s.creds(ctx, nil, "decrypt", s.Path, "-")
	if err != nil {
		return nil, fmt.Errorf("dataunlock: unseal: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(out)))
	if err != nil || len(key) != 32 {
		return nil, errors.New("dataunlock: the sealed secret is malformed")
	}
	return key, nil
}

// Provision seals a new random secret; it refuses to replace one.
func (s Sealed) Provision(ctx context.Context) error {
	if _, err := os.Stat(s.Path); err == nil {
		return fmt.Errorf("dataunlock: %s exists; a sealed secret is never replaced", s.Path)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("dataunlock: random key: %w", err)
	}
	if _, err := s.creds(ctx, []byte(hex.EncodeToString(key)), "encrypt", "-", s.Path); err != nil {
		return fmt.Errorf("dataunlock: seal: %w", err)
	}
	return nil
}

// FwCfgSecretPath is where a QEMU guest sees the secret its host gives it
// with -fw_cfg name=opt/kortstation/device-secret,file=F (module
// qemu_fw_cfg).
const FwCfgSecretPath = "/sys/firmware/qemu_fw_cfg/by_name/opt/kortstation/device-secret/raw"

// FwCfg is a secret the host of a QEMU virtual machine hands the guest
// through the firmware configuration device: 64 hex digits. It stands in
// for the Raspberry Pi's OTP key in the QEMU boot test
// (images/qemu-boot.sh): like the OTP it belongs to the (virtual) board,
// not to the card, so the card booted in another machine stays closed. It
// is never made by the guest. Only a QEMU machine has it.
type FwCfg struct {
	// Path is the secret's file; default FwCfgSecretPath.
	Path string
}

// Name is "qemu-fw-cfg".
func (FwCfg) Name() string { return "qemu-fw-cfg" }

func (f FwCfg) path() string {
	if f.Path == "" {
		return FwCfgSecretPath
	}
	return f.Path
}

// Secret reads the host's secret; none given is ErrNoSecret.
func (f FwCfg) Secret(context.Context) ([]byte, error) {
	b, err := os.ReadFile(f.path())
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoSecret
	}
	if err != nil {
		return nil, fmt.Errorf("dataunlock: read the machine's secret: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		return nil, errors.New("dataunlock: the machine's secret is not 64 hex digits")
	}
	return key, nil
}

// Provision refuses: the host gives the secret (-fw_cfg), the guest cannot
// make one.
func (FwCfg) Provision(context.Context) error {
	return errors.New("dataunlock: a QEMU machine's secret is given by its host (-fw_cfg name=opt/kortstation/device-secret); none was given")
}
