// Package provision is the appliance's first-boot provisioning: it takes the
// central registry's address and the station's one-time enrolment code, from
// a form on the touchscreen or from a file a technician put on the SD card's
// boot partition, validates them, and writes them to the station's state
// directory for kioskd, which enrols with the code.
//
// The registry's CA must be pinned: by its certificate (the technician's
// file), by its SHA-256 fingerprint (the form or the file), or both, and
// then they must agree. Without a pin kioskd cannot enrol, so provisioning
// refuses rather than leave a station that never syncs.
//
// The contract with kioskd (see images/README.md): in the state directory,
// enrol-code (0600) holds the code, registry-ca.pem (0644) the registry's CA
// when one was given, and provisioning.env (0600), written last, holds the
// KIOSK_* settings that kioskd.service reads as its EnvironmentFile:
// KIOSK_REGISTRY_CA only when registry-ca.pem was written,
// KIOSK_REGISTRY_CA_FINGERPRINT only when a fingerprint was given. The
// existence of provisioning.env means "provisioned".
package provision

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/kortstation/kortstation/sync/pki"
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
	Field  string // "registry-url", "enrol-code", "station-id", "registry-ca", "registry-ca-fingerprint", "registry-ca-file", "line N"
	Reason string // English, for the log and the technician's console
	Sv     string // the same in plain Swedish, for the touchscreen form
}

func (e *FieldError) Error() string { return fmt.Sprintf("provision: %s: %s", e.Field, e.Reason) }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Request is what provisioning needs.
type Request struct {
	RegistryURL string // https://host[:port][/path]
	EnrolCode   string // the one-time enrolment code (a secret)
	StationID   string // the station the enrolment code was made for
	RegistryCA  []byte // PEM certificate(s) of the registry's CA (technician's file only)
	// RegistryCAFingerprint is the SHA-256 fingerprint of the registry's
	// CA certificate as the central administrator gives it with the code:
	// 64 hex digits, any case, optionally grouped by spaces or colons.
	RegistryCAFingerprint string
}

// missingPin is the refusal when neither the CA nor its fingerprint is given.
func missingPin() *FieldError {
	return &FieldError{Field: "registry-ca-fingerprint",
		Reason: "missing: the registry CA must be pinned by its SHA-256 fingerprint (registry-ca-fingerprint) or its certificate (registry-ca-file); the central administrator gives the fingerprint with the enrolment code",
		Sv:     "Registrets CA-fingeravtryck saknas. Den centrala administratören ger det tillsammans med engångskoden. Utan det kan stationen inte veta att den talar med rätt register."}
}

// Validate checks every field and returns the first *FieldError.
func (r Request) Validate() error {
	_, err := r.pin()
	return err
}

// pin validates r and returns the normalised fingerprint to pin ("" when
// only the CA certificate was given).
func (r Request) pin() (string, error) {
	u, err := url.Parse(strings.TrimSpace(r.RegistryURL))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", &FieldError{Field: "registry-url", Reason: "must be an https:// address like https://registry.example.se",
			Sv: "Registrets adress måste börja med https://, till exempel https://register.example.se."}
	}
	code := strings.TrimSpace(r.EnrolCode)
	if len(code) < 6 || len(code) > 64 {
		return "", &FieldError{Field: "enrol-code", Reason: "must be 6 to 64 characters",
			Sv: "Engångskoden ska vara 6 till 64 tecken lång."}
	}
	for _, c := range code {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-') {
			return "", &FieldError{Field: "enrol-code", Reason: "may hold only letters A-Z, digits and '-'",
				Sv: "Engångskoden får bara innehålla bokstäverna A–Z, siffror och bindestreck."}
		}
	}
	id := strings.TrimSpace(r.StationID)
	if id == "" {
		// kioskd's station ID must be the one the code was issued for:
		// with another (its default) it enrols, spending the code, then
		// refuses the certificate as not its own and never syncs.
		return "", &FieldError{Field: "station-id", Reason: "missing: the station ID the enrolment code was made for; the central administrator gives it with the code",
			Sv: "Stations-ID saknas. Den centrala administratören ger det tillsammans med engångskoden."}
	}
	if strings.ContainsAny(id, " /\\\n\r\t\"'$`") || len(id) > 64 {
		return "", &FieldError{Field: "station-id", Reason: "at most 64 characters, no spaces, slashes or quotes",
			Sv: "Stations-ID får vara högst 64 tecken, utan mellanslag, snedstreck eller citattecken."}
	}
	var fp string
	if strings.TrimSpace(r.RegistryCAFingerprint) != "" {
		if fp, err = NormaliseFingerprint(r.RegistryCAFingerprint); err != nil {
			return "", &FieldError{Field: "registry-ca-fingerprint", Reason: err.Error(),
				Sv: "Registrets CA-fingeravtryck ska vara 64 tecken 0–9 och A–F (mellanslag eller kolon mellan grupperna går bra). Kontrollera det mot det som den centrala administratören gav."}
		}
	}
	if len(r.RegistryCA) == 0 {
		if fp == "" {
			return "", missingPin()
		}
		return fp, nil
	}
	caFP, err := caFingerprint(r.RegistryCA)
	if err != nil {
		return "", &FieldError{Field: "registry-ca", Reason: err.Error(),
			Sv: "Filen med registrets CA innehåller inget giltigt CA-certifikat."}
	}
	if fp != "" && fp != caFP {
		return "", &FieldError{Field: "registry-ca-fingerprint", Reason: "does not match the CA certificate in registry-ca-file",
			Sv: "Registrets CA-fingeravtryck stämmer inte med CA-certifikatet i filen. Fråga den centrala administratören vilket som är rätt."}
	}
	return fp, nil
}

// NormaliseFingerprint turns a SHA-256 fingerprint as people write it (64
// hex digits in any case, optionally grouped by spaces or colons) into the
// form kioskd's registry-ca-fingerprint and pki.Fingerprint use: 64
// lower-case hex digits.
func NormaliseFingerprint(s string) (string, error) {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9' || c >= 'a' && c <= 'f':
			b.WriteRune(c)
		case c >= 'A' && c <= 'F':
			b.WriteRune(c - 'A' + 'a')
		case c == ' ' || c == ':':
			// Between groups only: not first, not last, never two in a row.
			if i == 0 || i == len(s)-1 || s[i-1] == ' ' || s[i-1] == ':' {
				return "", errors.New("SHA-256 fingerprint: spaces or colons only singly between groups of hex digits")
			}
		default:
			return "", errors.New("SHA-256 fingerprint: only hex digits 0-9 a-f, spaces and colons")
		}
	}
	if b.Len() != 2*sha256.Size {
		return "", fmt.Errorf("SHA-256 fingerprint: %d hex digits, want 64", b.Len())
	}
	return b.String(), nil
}

// caFingerprint checks that b holds only parseable PEM certificates, at
// least one of them a CA, and returns the fingerprint kioskd pins when it
// has the file only: that of the first CA certificate.
func caFingerprint(b []byte) (string, error) {
	n := 0
	fp := ""
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return "", fmt.Errorf("PEM block %q is not a CERTIFICATE", blk.Type)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return "", fmt.Errorf("certificate %d does not parse: %v", n+1, err)
		}
		if c.IsCA && fp == "" {
			fp = pki.Fingerprint(c)
		}
		n++
	}
	switch {
	case n == 0:
		return "", errors.New("no PEM certificate found")
	case fp == "":
		return "", errors.New("no CA certificate (basic constraints CA:TRUE) found")
	}
	return fp, nil
}

// ParseFile reads the boot partition's kortstation-provision.conf: lines of
// key=value (registry-url, enrol-code, station-id, registry-ca-file,
// registry-ca-fingerprint), '#' comments. registry-ca-file is resolved
// against dir and read.
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
		case "registry-ca-fingerprint":
			r.RegistryCAFingerprint = v
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
	fp, err := r.pin()
	if err != nil {
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
	fmt.Fprintf(&env, "KIOSK_STATION_ID=%s\n", strings.TrimSpace(r.StationID))
	if len(r.RegistryCA) > 0 {
		if err := w.atomic(RegistryCAFile, r.RegistryCA, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&env, "KIOSK_REGISTRY_CA=%s\n", filepath.Join(w.Dir, RegistryCAFile))
	}
	if fp != "" {
		fmt.Fprintf(&env, "KIOSK_REGISTRY_CA_FINGERPRINT=%s\n", fp)
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
