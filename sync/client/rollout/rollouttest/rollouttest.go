// Package rollouttest is a stand-in for the registry's two update
// endpoints (protocol.PathUpdate, protocol.PathBundle), written from the
// contract in sync/protocol, for what the real registry cannot be made to
// do in a test: count the station's requests, or misbehave (serve more
// bytes than it offered). The station's other tests use the real
// registry's endpoints. It wraps the real registry's station handler
// (registrytest.Registry.Wrap), so the station still talks real mutual TLS
// to the real registry; only the two update paths are answered here.
package rollouttest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"sync"

	"github.com/kortstation/kortstation/sync/protocol"
)

// Registry answers the update endpoints. Set its fields before or while
// the station runs; they are read under its lock.
type Registry struct {
	mu sync.Mutex
	// Offer is the version offered to every station (empty: none) and
	// Bundles its bytes by version. Tamper, when set, replaces the bytes
	// served (the offer's hash stays that of Bundles).
	offer   string
	group   string
	bundles map[string][]byte
	tamper  map[string][]byte
	// Checks counts update checks; Requests the bundle requests with
	// their offsets.
	checks  []protocol.UpdateCheckRequest
	offsets []int64
}

// New makes an empty stand-in.
func New() *Registry {
	return &Registry{bundles: map[string][]byte{}, tamper: map[string][]byte{}, group: "pilot"}
}

// Release stores a bundle and offers it.
func (r *Registry) Release(version string, b []byte) protocol.UpdateOffer {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bundles[version] = b
	r.offer = version
	return r.offerLocked()
}

// Withdraw offers nothing.
func (r *Registry) Withdraw() { r.mu.Lock(); r.offer = ""; r.mu.Unlock() }

// Tamper serves b instead of the released bytes of version.
func (r *Registry) Tamper(version string, b []byte) {
	r.mu.Lock()
	r.tamper[version] = b
	r.mu.Unlock()
}

// Checks returns the update checks received.
func (r *Registry) Checks() []protocol.UpdateCheckRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]protocol.UpdateCheckRequest(nil), r.checks...)
}

// Offsets returns the offsets of the bundle requests received.
func (r *Registry) Offsets() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int64(nil), r.offsets...)
}

func (r *Registry) offerLocked() protocol.UpdateOffer {
	b := r.bundles[r.offer]
	sum := sha256.Sum256(b)
	return protocol.UpdateOffer{Version: r.offer, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(b)), Group: r.group}
}

// Wrap answers the two update paths and hands everything else to next
// (the registry's station handler).
func (r *Registry) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case protocol.PathUpdate, protocol.PathBundle:
		default:
			next.ServeHTTP(w, req)
			return
		}
		if req.TLS == nil || len(req.TLS.PeerCertificates) == 0 {
			protocol.WriteError(w, http.StatusUnauthorized, protocol.CodeUnauthenticated, "no client certificate")
			return
		}
		station := req.TLS.PeerCertificates[0].Subject.CommonName
		if req.URL.Path == protocol.PathUpdate {
			var in protocol.UpdateCheckRequest
			if err := protocol.Decode(req.Body, protocol.IsGzip(req.Header.Get("Content-Encoding")), &in); err != nil || in.StationID != station {
				protocol.WriteError(w, http.StatusBadRequest, protocol.CodeBadRequest, "bad update check")
				return
			}
			r.mu.Lock()
			r.checks = append(r.checks, in)
			var resp protocol.UpdateCheckResponse
			if r.offer != "" && r.offer != in.Version {
				o := r.offerLocked()
				resp.Offer = &o
			}
			r.mu.Unlock()
			_ = protocol.WriteJSON(w, http.StatusOK, resp)
			return
		}
		var in protocol.BundleRequest
		if err := protocol.Decode(req.Body, protocol.IsGzip(req.Header.Get("Content-Encoding")), &in); err != nil || in.StationID != station {
			protocol.WriteError(w, http.StatusBadRequest, protocol.CodeBadRequest, "bad bundle request")
			return
		}
		r.mu.Lock()
		r.offsets = append(r.offsets, in.Offset)
		b, ok := r.bundles[in.Version]
		if t, tampered := r.tamper[in.Version]; tampered {
			b = t
		}
		offered := ok && in.Version == r.offer
		r.mu.Unlock()
		if !offered {
			protocol.WriteError(w, http.StatusNotFound, protocol.CodeNotOffered, "not offered to this station")
			return
		}
		if in.Offset < 0 || in.Offset > int64(len(b)) {
			protocol.WriteError(w, http.StatusBadRequest, protocol.CodeBadRequest, "offset out of range")
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)-int(in.Offset)))
		w.WriteHeader(http.StatusOK)
		_, _ = bytes.NewReader(b[in.Offset:]).WriteTo(w)
	})
}
