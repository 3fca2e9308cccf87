// Package enrol is the station's identity towards the registry: its
// station ID, the registry's URL, the pinned registry CA and the station's
// own certificate and key; and the one-time enrolment that obtains them.
package enrol

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kortstation/kortstation/sync/pki"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Identity is everything a station needs to talk to the registry.
type Identity struct {
	StationID string // the CN of the station certificate
	URL       string // e.g. https://registry.example:8443
	CAFile    string // the registry's CA certificate (PEM), pinned
	CertFile  string // the station certificate (PEM)
	KeyFile   string // the station key (PEM, mode 0600)
}

// Files in an identity directory.
const (
	CAFileName   = "registry-ca.pem"
	CertFileName = "station.pem"
	KeyFileName  = "station-key.pem"
	// TrustAnchorsFileName holds the SITHS root certificates the registry
	// gave at enrolment (kioskd's card trust when trust-anchors is not
	// set). Only enrolment writes it; sync never does.
	TrustAnchorsFileName = "trust-anchors.pem"
)

// InDir is the identity whose files live in dir.
func InDir(dir, stationID, url string) Identity {
	return Identity{
		StationID: stationID, URL: strings.TrimRight(url, "/"),
		CAFile:   filepath.Join(dir, CAFileName),
		CertFile: filepath.Join(dir, CertFileName),
		KeyFile:  filepath.Join(dir, KeyFileName),
	}
}

// TrustAnchorsFile is where enrolment leaves the SITHS roots in the
// identity directory dir.
func TrustAnchorsFile(dir string) string { return filepath.Join(dir, TrustAnchorsFileName) }

// ErrNotEnrolled is returned when the identity's files are missing.
var ErrNotEnrolled = errors.New("station is not enrolled")

// TLSConfig is the client TLS configuration: only the pinned CA is trusted
// and the station certificate is presented.
func (id Identity) TLSConfig() (*tls.Config, error) {
	caPEM, err := os.ReadFile(id.CAFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("enrol: %s: %w", id.CAFile, ErrNotEnrolled)
	}
	if err != nil {
		return nil, fmt.Errorf("enrol: read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("enrol: %s holds no certificate: %w", id.CAFile, pki.ErrBadPEM)
	}
	cert, err := tls.LoadX509KeyPair(id.CertFile, id.KeyFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("enrol: %s: %w", id.CertFile, ErrNotEnrolled)
	}
	if err != nil {
		return nil, fmt.Errorf("enrol: load station certificate: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool, Certificates: []tls.Certificate{cert}}, nil
}

// Validate checks that the identity is complete and its certificate is
// this station's and currently valid.
func (id Identity) Validate(now time.Time) error {
	if id.StationID == "" || id.URL == "" {
		return errors.New("enrol: identity needs a station ID and a registry URL")
	}
	if !strings.HasPrefix(id.URL, "https://") {
		return fmt.Errorf("enrol: registry URL %q must be https", id.URL)
	}
	b, err := os.ReadFile(id.CertFile)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("enrol: %s: %w", id.CertFile, ErrNotEnrolled)
	}
	if err != nil {
		return fmt.Errorf("enrol: %w", err)
	}
	c, err := pki.ParseCertPEM(b)
	if err != nil {
		return err
	}
	if c.Subject.CommonName != id.StationID {
		return fmt.Errorf("enrol: certificate is for station %q, configured as %q", c.Subject.CommonName, id.StationID)
	}
	if now.After(c.NotAfter) {
		return fmt.Errorf("enrol: station certificate expired %s", c.NotAfter.Format(time.RFC3339))
	}
	return nil
}

// ErrFingerprint is returned when the registry's CA is not the pinned one.
var ErrFingerprint = errors.New("registry CA does not match the pinned fingerprint")

// Enrol obtains a station certificate, and the SITHS roots its cards must
// chain to, with a one-time code. The registry
// is trusted only if its chain's CA has the SHA-256 fingerprint
// caFingerprint (hex, as `registryd admin enrol-code` prints it). The
// identity files and the roots (TrustAnchorsFileName, each a CA certificate
// by pki.ParseTrustAnchors, else nothing is written) are written to dir;
// the key never leaves the station.
func Enrol(ctx context.Context, url, code, caFingerprint, dir string) (Identity, error) {
	want := strings.ToLower(strings.ReplaceAll(caFingerprint, ":", ""))
	var pinned *x509.Certificate
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // verified below against the pinned CA fingerprint
		VerifyConnection: func(cs tls.ConnectionState) error {
			for _, c := range cs.PeerCertificates {
				if c.IsCA && pki.Fingerprint(c) == want {
					pool := x509.NewCertPool()
					pool.AddCert(c)
					inter := x509.NewCertPool()
					if _, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, DNSName: cs.ServerName}); err != nil {
						return fmt.Errorf("enrol: server certificate: %w", err)
					}
					pinned = c
					return nil
				}
			}
			return ErrFingerprint
		},
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true}}
	defer hc.CloseIdleConnections()
	csr, key, err := pki.NewCSR("pending")
	if err != nil {
		return Identity{}, err
	}
	var resp protocol.EnrolResponse
	if err := protocol.Post(ctx, hc, strings.TrimRight(url, "/")+protocol.PathEnrol, protocol.EnrolRequest{Code: code, CSRPEM: string(csr)}, &resp); err != nil {
		return Identity{}, fmt.Errorf("enrol: %w", err)
	}
	// The SITHS roots are checked before anything is stored: a registry
	// that sends none, or anything but CA certificates, enrols nothing
	// here (the code is spent; the technician needs a new one).
	if _, err := pki.ParseTrustAnchors([]byte(resp.TrustAnchorsPEM)); err != nil {
		return Identity{}, fmt.Errorf("enrol: the registry's SITHS roots: %w", err)
	}
	ca, err := pki.ParseCertPEM([]byte(resp.CAPEM))
	if err != nil || pinned == nil || !ca.Equal(pinned) {
		return Identity{}, fmt.Errorf("enrol: CA in the answer: %w", ErrFingerprint)
	}
	if c, err := pki.ParseCertPEM([]byte(resp.CertPEM)); err != nil || c.CheckSignatureFrom(ca) != nil || c.Subject.CommonName != resp.StationID {
		return Identity{}, fmt.Errorf("enrol: the issued certificate is not valid for station %q: %w", resp.StationID, errors.Join(err, pki.ErrBadPEM))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Identity{}, fmt.Errorf("enrol: %w", err)
	}
	id := InDir(dir, resp.StationID, url)
	// The roots first: a station certificate on disk means its roots are
	// there too (a power cut in between leaves the station unenrolled,
	// never enrolled without roots).
	if err := pki.WriteFileAtomic(TrustAnchorsFile(dir), []byte(resp.TrustAnchorsPEM), 0o644); err != nil {
		return Identity{}, err
	}
	if err := pki.WriteFileAtomic(id.KeyFile, key, 0o600); err != nil {
		return Identity{}, err
	}
	if err := pki.WriteFileAtomic(id.CertFile, []byte(resp.CertPEM), 0o644); err != nil {
		return Identity{}, err
	}
	if err := pki.WriteFileAtomic(id.CAFile, []byte(resp.CAPEM), 0o644); err != nil {
		return Identity{}, err
	}
	return id, nil
}
