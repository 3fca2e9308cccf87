// Package provision is the appliance's first-boot provisioning: it takes the
// central registry's address and the station's one-time enrolment code, from
// a form on the touchscreen or from a file a technician put on the SD card's
// boot partition, validates them, and writes them to the station's state
// directory for kioskd, which enrols with the code.
//
// The contract with kioskd (see images/README.md): in the state directory,
// enrol-code (0600) holds the code, registry-ca.pem (0644) the registry's CA
// when one was given, and provisioning.env (0600), written last, holds the
// KIOSK_* settings that kioskd.service reads as its EnvironmentFile. The
// existence of provisioning.env means "provisioned".
package provision

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// File names in the state directory.
const (
	EnvFile        = "provisioning.env"
	EnrolCodeFile  = "enrol-code"
	RegistryCAFile = "registry-ca.pem"
)

// ErrInvalid is wrapped by every *FieldError.
var ErrInvalid = errors.New("invalid provisioning value")

// FieldError says which value is wrong and why. It never holds the value of
// the enrolment code.
type FieldError struct {
	Field  string // "registry-url", "enrol-code", "station-id", "registry-ca"
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("provision: %s: %s", e.Field, e.Reason) }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Request is what provisioning needs.
type Request struct {
	RegistryURL string // https://host[:port][/path]
	EnrolCode   string // the one-time enrolment code (a secret)
	StationID   string // optional; the registry may assign it at enrolment
	RegistryCA  []byte // optional PEM certificate(s) of the registry's CA
}

// Validate checks every field and returns the first *FieldError.
func (r Request) Validate() error {
	u, err := url.Parse(strings.TrimSpace(r.RegistryURL))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return &FieldError{Field: "registry-url", Reason: "must be an https:// address like https://registry.example.se"}
	}
	code := strings.TrimSpace(r.EnrolCode)
	if len(code) < 6 || len(code) > 64 {
		return &FieldError{Field: "enrol-code", Reason: "must be 6 to 64 characters"}
	}
	for _, c := range code {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-') {
			return &FieldError{Field: "enrol-code", Reason: "may hold only letters A-Z, digits and '-'"}
		}
	}
	if id := strings.TrimSpace(r.StationID); id != "" && (strings.ContainsAny(id, " /\\\n\r\t\"'$`") || len(id) > 64) {
		return &FieldError{Field: "station-id", Reason: "at most 64 characters, no spaces, slashes or quotes"}
	}
	if len(r.RegistryCA) > 0 {
		if err := checkPEM(r.RegistryCA); err != nil {
			return &FieldError{Field: "registry-ca", Reason: err.Error()}
		}
	}
	return nil
}

func checkPEM(b []byte) error {
	n := 0
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return fmt.Errorf("PEM block %q is not a CERTIFICATE", blk.Type)
		}
		if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
			return fmt.Errorf("certificate %d does not parse: %v", n+1, err)
		}
		n++
	}
	if n == 0 {
		return errors.New("no PEM certificate found")
	}
	return nil
}

// ParseFile reads the boot partition's kortstation-provision.conf: lines of
// key=value (registry-url, enrol-code, station-id, registry-ca-file), '#'
// comments. registry-ca-file is resolved against dir and read.
func ParseFile(b []byte, dir string) (Request, error) {
	var r Request
	sc := bufio.NewScanner(bytes.NewReader(b))
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return Request{}, &FieldError{Field: fmt.Sprintf("line %d", line), Reason: "not key=value"}
		}
		k, v = strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"`)
		switch k {
		case "registry-url":
			r.RegistryURL = v
		case "enrol-code":
			r.EnrolCode = v
		case "station-id":
			r.StationID = v
		case "registry-ca-file":
			p := v
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			ca, err := os.ReadFile(p)
			if err != nil {
				return Request{}, &FieldError{Field: "registry-ca-file", Reason: err.Error()}
			}
			r.RegistryCA = ca
		default:
			return Request{}, &FieldError{Field: fmt.Sprintf("line %d", line), Reason: fmt.Sprintf("unknown key %q", k)}
		}
	}
	if err := sc.Err(); err != nil {
		return Request{}, fmt.Errorf("provision: read file: %w", err)
	}
	return r, r.Validate()
}

// Writer writes a validated Request into a state directory.
type Writer struct {
	Dir string // the station's state directory, e.g. /var/lib/kortstation
	UID int    // owner of the files written; -1 keeps the writer's
	GID int
}

// Provisioned reports whether dir holds a provisioning.env.
func Provisioned(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, EnvFile))
	return err == nil
}

// Write validates r and writes the enrolment code, the CA (if any), then
// provisioning.env, each atomically (temporary file, fsync, rename). Bad
// input changes nothing; an already provisioned directory is refused.
func (w Writer) Write(r Request) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if Provisioned(w.Dir) {
		return fmt.Errorf("provision: %s already holds %s: refusing to overwrite", w.Dir, EnvFile)
	}
	codePath := filepath.Join(w.Dir, EnrolCodeFile)
	if err := w.atomic(EnrolCodeFile, []byte(strings.TrimSpace(r.EnrolCode)+"\n"), 0o600); err != nil {
		return err
	}
	var env strings.Builder
	env.WriteString("# Written by kortstation-provision at first boot; read by kioskd.service.\n")
	env.WriteString("KIOSK_REGISTRY=remote\n")
	fmt.Fprintf(&env, "KIOSK_REGISTRY_URL=%s\n", strings.TrimSpace(r.RegistryURL))
	fmt.Fprintf(&env, "KIOSK_ENROL_CODE_FILE=%s\n", codePath)
	if id := strings.TrimSpace(r.StationID); id != "" {
		fmt.Fprintf(&env, "KIOSK_STATION_ID=%s\n", id)
	}
	if len(r.RegistryCA) > 0 {
		if err := w.atomic(RegistryCAFile, r.RegistryCA, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&env, "KIOSK_REGISTRY_CA=%s\n", filepath.Join(w.Dir, RegistryCAFile))
	}
	return w.atomic(EnvFile, []byte(env.String()), 0o600)
}

func (w Writer) atomic(name string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(w.Dir, "."+name+".*")
	if err != nil {
		return fmt.Errorf("provision: write %s: %w", name, err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("provision: write %s: %w", name, err)
	}
	if err := f.Chmod(mode); err != nil {
		return fail(err)
	}
	if w.UID >= 0 || w.GID >= 0 {
		if err := f.Chown(w.UID, w.GID); err != nil {
			return fail(err)
		}
	}
	if _, err := f.Write(b); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("provision: write %s: %w", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(w.Dir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("provision: write %s: %w", name, err)
	}
	d, err := os.Open(w.Dir)
	if err != nil {
		return fmt.Errorf("provision: sync %s: %w", w.Dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("provision: sync %s: %w", w.Dir, err)
	}
	return nil
}
