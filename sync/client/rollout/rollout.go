// Package rollout is the station's end of staged updates (docs/appliance.md,
// "Staged rollout"): it asks the registry which release this station should
// run (protocol.PathUpdate) and downloads the offered bundle
// (protocol.PathBundle) over the station's mutual-TLS channel, resuming a
// partial download, bounded by the offer's size and checked against its
// SHA-256. The bundle's signature is not checked here: RAUC checks it on
// install against the keyring in the image. The registry chooses what and
// when; the station trusts only what its image's keyring signed.
package rollout

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/kortstation/kortstation/sync/client/enrol"
	"github.com/kortstation/kortstation/sync/client/reconcile"
	"github.com/kortstation/kortstation/sync/protocol"
)

// MaxBundle is the largest bundle a station accepts (a root file system
// and a boot partition, with room to spare).
const MaxBundle = 4 << 30

// Config configures a Client.
type Config struct {
	Identity enrol.Identity
	TLS      *tls.Config // overrides the identity's TLS files
	// CheckTimeout bounds an update check; default 60 s. A download is
	// bounded by its context and ReadTimeout.
	CheckTimeout time.Duration
	// ReadTimeout: a download that receives nothing for this long is
	// cut (and resumed later); default 2 min.
	ReadTimeout time.Duration
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Client talks to the registry's update endpoints.
type Client struct {
	cfg   Config
	check *http.Client
	dl    *http.Client
}

// New makes a client; it loads the identity's TLS files unless cfg.TLS is
// set.
func New(cfg Config) (*Client, error) {
	if cfg.CheckTimeout <= 0 {
		cfg.CheckTimeout = 60 * time.Second
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 2 * time.Minute
	}
	if cfg.Identity.StationID == "" || cfg.Identity.URL == "" {
		return nil, errors.New("rollout: config needs Identity.StationID and Identity.URL")
	}
	tc := cfg.TLS
	if tc == nil {
		var err error
		if tc, err = cfg.Identity.TLSConfig(); err != nil {
			return nil, fmt.Errorf("rollout: %w", err)
		}
	}
	dl := reconcile.NewHTTPClient(tc, cfg.ReadTimeout, cfg.DialContext)
	dl.Timeout = 0 // a bundle takes as long as it takes; ReadTimeout guards a stall
	return &Client{cfg: cfg, check: reconcile.NewHTTPClient(tc, cfg.CheckTimeout, cfg.DialContext), dl: dl}, nil
}

// Close releases idle connections.
func (c *Client) Close() {
	c.check.CloseIdleConnections()
	c.dl.CloseIdleConnections()
}

// ErrNotOffered: the registry no longer offers the version asked for
// (protocol.CodeNotOffered); a partial download of it was removed.
var ErrNotOffered = errors.New("rollout: the registry does not offer this bundle (any more)")

var sha256Re = regexp.MustCompile(`^[0-9a-f]{64}$`)

// CheckOffer verifies that an offer is well formed before anything is
// fetched for it.
func CheckOffer(o protocol.UpdateOffer) error {
	switch {
	case !protocol.ValidUpdateVersion(o.Version):
		return fmt.Errorf("rollout: offered version %q is not a version", o.Version)
	case !sha256Re.MatchString(o.SHA256):
		return fmt.Errorf("rollout: offer for %s: sha256 %q is not a lowercase hex SHA-256", o.Version, o.SHA256)
	case o.Size <= 0 || o.Size > MaxBundle:
		return fmt.Errorf("rollout: offer for %s: size %d is out of range (1 to %d bytes)", o.Version, o.Size, int64(MaxBundle))
	}
	return nil
}

// Check asks the registry which update this station should run, telling
// it the version it runs and its booted slot. A nil offer means none.
func (c *Client) Check(ctx context.Context, version, slot string) (*protocol.UpdateOffer, error) {
	req := protocol.UpdateCheckRequest{StationID: c.cfg.Identity.StationID, Version: version, Slot: slot}
	var resp protocol.UpdateCheckResponse
	if err := protocol.Post(ctx, c.check, c.cfg.Identity.URL+protocol.PathUpdate, req, &resp); err != nil {
		return nil, fmt.Errorf("rollout: check: %w", err)
	}
	if resp.Offer == nil {
		return nil, nil
	}
	if err := CheckOffer(*resp.Offer); err != nil {
		return nil, fmt.Errorf("%w: %w", protocol.ErrBadResponse, err)
	}
	return resp.Offer, nil
}

// DownloadError is a download whose bytes do not match the offer: too
// many, or another SHA-256. The file was removed; the outcome is reported
// as protocol.UpdateDownloadError.
type DownloadError struct {
	Version string
	Reason  string
}

func (e *DownloadError) Error() string {
	return fmt.Sprintf("rollout: bundle %s refused: %s", e.Version, e.Reason)
}

// PartSuffix is the suffix of a download in progress.
const PartSuffix = ".part"

// Download fetches the offered bundle into path: the bytes go to
// path+PartSuffix, resumed from its size when it exists, and the file is
// renamed to path only once it holds exactly offer.Size bytes whose
// SHA-256 is offer.SHA256. Bytes beyond the size or another hash remove
// the partial file and return a *DownloadError. A network failure leaves
// the partial file for the next attempt. An existing file at path that
// matches the offer is kept as it is.
func (c *Client) Download(ctx context.Context, offer protocol.UpdateOffer, path string) error {
	if err := CheckOffer(offer); err != nil {
		return err
	}
	if ok, err := matches(path, offer); err != nil || ok {
		return err
	}
	part := path + PartSuffix
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("rollout: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	have, err := io.Copy(h, f) // the bytes already here, hashed again
	if err != nil {
		return fmt.Errorf("rollout: read partial download: %w", err)
	}
	refuse := func(reason string) error {
		f.Close()
		if err := os.Remove(part); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rollout: remove refused download: %w", err)
		}
		return &DownloadError{Version: offer.Version, Reason: reason}
	}
	if have > offer.Size {
		return refuse(fmt.Sprintf("the partial download holds %d bytes, more than the %d offered", have, offer.Size))
	}
	if have < offer.Size {
		n, err := c.fetch(ctx, offer, have, f, h)
		have += n
		if err != nil {
			var tooLong errTooLong
			if errors.As(err, &tooLong) {
				return refuse(fmt.Sprintf("the registry sent more than the %d bytes offered", offer.Size))
			}
			if errors.Is(err, ErrNotOffered) {
				f.Close()
				_ = os.Remove(part)
			}
			return err
		}
		if have != offer.Size {
			return fmt.Errorf("rollout: download of %s ended after %d of %d bytes; it resumes at the next attempt", offer.Version, have, offer.Size)
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != offer.SHA256 {
		return refuse(fmt.Sprintf("SHA-256 %s does not match the offer's %s", got, offer.SHA256))
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("rollout: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("rollout: %w", err)
	}
	if err := os.Rename(part, path); err != nil {
		return fmt.Errorf("rollout: %w", err)
	}
	return nil
}

type errTooLong struct{}

func (errTooLong) Error() string { return "more bytes than offered" }

// fetch asks for the bundle from offset on and appends what arrives to f
// and h, at most the offer's size in total.
func (c *Client) fetch(ctx context.Context, offer protocol.UpdateOffer, offset int64, f *os.File, h io.Writer) (int64, error) {
	var body bytes.Buffer
	if err := protocol.Encode(&body, protocol.BundleRequest{StationID: c.cfg.Identity.StationID, Version: offer.Version, Offset: offset}); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.Identity.URL+protocol.PathBundle, &body)
	if err != nil {
		return 0, fmt.Errorf("rollout: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Content-Encoding", "gzip")
	hr.Header.Set(protocol.HeaderProtocol, protocol.Version)
	res, err := c.dl.Do(hr)
	if err != nil {
		return 0, fmt.Errorf("rollout: bundle %s: %w", offer.Version, err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		var eb protocol.ErrorBody
		if derr := protocol.Decode(res.Body, protocol.IsGzip(res.Header.Get("Content-Encoding")), &eb); derr != nil {
			eb = protocol.ErrorBody{Code: protocol.CodeInternal, Message: http.StatusText(res.StatusCode)}
		}
		perr := &protocol.Error{Status: res.StatusCode, Code: eb.Code, Message: eb.Message}
		if eb.Code == protocol.CodeNotOffered {
			return 0, fmt.Errorf("%w: %w", ErrNotOffered, perr)
		}
		return 0, fmt.Errorf("rollout: bundle %s: %w", offer.Version, perr)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/octet-stream") || res.Header.Get("Content-Encoding") != "" {
		return 0, fmt.Errorf("rollout: bundle %s: %w: content type %q, encoding %q", offer.Version, protocol.ErrBadResponse, ct, res.Header.Get("Content-Encoding"))
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return 0, fmt.Errorf("rollout: %w", err)
	}
	// A stalled transfer is cut after ReadTimeout without a byte.
	stall := time.AfterFunc(c.cfg.ReadTimeout, cancel)
	defer stall.Stop()
	want := offer.Size - offset
	buf := make([]byte, 256<<10)
	var n int64
	for {
		k, rerr := res.Body.Read(buf)
		stall.Reset(c.cfg.ReadTimeout)
		if k > 0 {
			if n+int64(k) > want {
				return n, errTooLong{}
			}
			if _, err := f.Write(buf[:k]); err != nil {
				return n, fmt.Errorf("rollout: write bundle: %w", err)
			}
			h.Write(buf[:k])
			n += int64(k)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, fmt.Errorf("rollout: bundle %s after %d bytes: %w", offer.Version, offset+n, rerr)
		}
	}
}

// matches reports whether path already holds the offered bundle.
func matches(path string, offer protocol.UpdateOffer) (bool, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("rollout: %w", err)
	}
	if fi.Size() == offer.Size {
		sum, err := FileSHA256(path)
		if err != nil {
			return false, err
		}
		if sum == offer.SHA256 {
			return true, nil
		}
	}
	if err := os.Remove(path); err != nil {
		return false, fmt.Errorf("rollout: remove stale bundle: %w", err)
	}
	return false, nil
}

// FileSHA256 is the hex SHA-256 of a file's bytes.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("rollout: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("rollout: hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
