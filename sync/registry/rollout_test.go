package registry_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/kiosk/trust/trusttest"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// Issue 16 item 3, the registry's side of the staged rollout: releases,
// update groups with their targets (pilot first), the offer at
// /v1/update, the bundle at /v1/bundle, and the update results stations
// report.

// rolloutStation is a station's HTTPS client with its certificate.
type rolloutStation struct {
	id  string
	hc  *http.Client
	reg *registrytest.Registry
}

func newRolloutStation(t *testing.T, reg *registrytest.Registry, id string) *rolloutStation {
	t.Helper()
	tc, err := reg.Identity(t, id).TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: tc}
	t.Cleanup(tr.CloseIdleConnections)
	return &rolloutStation{id: id, hc: &http.Client{Transport: tr}, reg: reg}
}

// check asks for the update as the station, running version in slot A.
func (s *rolloutStation) check(t *testing.T, version string) (*protocol.UpdateOffer, error) {
	t.Helper()
	var resp protocol.UpdateCheckResponse
	err := protocol.Post(context.Background(), s.hc, s.reg.URL+protocol.PathUpdate, protocol.UpdateCheckRequest{StationID: s.id, Version: version, Slot: "A"}, &resp)
	return resp.Offer, err
}

// bundle asks for the bytes of version from offset, in the name of
// bodyID; it returns the status, the error code of a refusal and the
// bytes of an answer.
func (s *rolloutStation) bundle(t *testing.T, bodyID, version string, offset int64) (int, string, []byte, http.Header) {
	t.Helper()
	return bundleWith(t, s.hc, s.reg.URL, protocol.BundleRequest{StationID: bodyID, Version: version, Offset: offset})
}

func bundleWith(t *testing.T, hc *http.Client, base string, req protocol.BundleRequest) (int, string, []byte, http.Header) {
	t.Helper()
	b, _ := json.Marshal(req)
	hr, _ := http.NewRequest(http.MethodPost, base+protocol.PathBundle, bytes.NewReader(b))
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set(protocol.HeaderProtocol, protocol.Version)
	res, err := hc.Do(hr)
	if err != nil {
		return 0, "transport: " + err.Error(), nil, nil
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read bundle: %v", err)
	}
	if res.StatusCode != http.StatusOK {
		var eb protocol.ErrorBody
		_ = protocol.Decode(bytes.NewReader(body), protocol.IsGzip(res.Header.Get("Content-Encoding")), &eb)
		return res.StatusCode, eb.Code, nil, res.Header
	}
	return res.StatusCode, "", body, res.Header
}

// pushResult pushes an update_result event as the station over HTTPS.
func (s *rolloutStation) pushResult(t *testing.T, seq int64, id string, p protocol.UpdateResultPayload) []protocol.Ack {
	t.Helper()
	payload, _ := json.Marshal(p)
	var resp protocol.PushResponse
	err := protocol.Post(context.Background(), s.hc, s.reg.URL+protocol.PathPush, protocol.PushRequest{StationID: s.id, Events: []protocol.Event{{
		Seq: seq, ID: id, Kind: protocol.KindUpdateResult, Payload: payload, CreatedAt: time.Now(), ClockSource: "ntp"}}}, &resp)
	if err != nil {
		t.Fatalf("push update_result: %v", err)
	}
	return resp.Acks
}

// reportStatus pulls as the station with a status report.
func (s *rolloutStation) reportStatus(t *testing.T, st protocol.StationStatus) {
	t.Helper()
	var resp protocol.PullResponse
	if err := protocol.Post(context.Background(), s.hc, s.reg.URL+protocol.PathPull, protocol.PullRequest{StationID: s.id, Cursors: map[string]string{}, Status: &st}, &resp); err != nil {
		t.Fatalf("pull with status: %v", err)
	}
}

func randomBundle(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func addRelease(t *testing.T, srv *registry.Server, version string, b []byte) registry.Release {
	t.Helper()
	rel, err := srv.AddRelease(context.Background(), version, bytes.NewReader(b), "host:test")
	if err != nil {
		t.Fatalf("add release %s: %v", version, err)
	}
	return rel
}

func wantCode(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Status != status || pe.Code != code {
		t.Errorf("%s: %v, want %d %s", what, err, status, code)
	}
}

// TestUpdateOfferAndBundle: a station is offered its group's target and
// nothing else, never a downgrade; it downloads exactly that bundle, also
// resumed from an offset; every other bundle is refused — another
// group's target, an old release, a made-up version, in another
// station's name, without a certificate, with a foreign or revoked
// certificate, while locked.
func TestUpdateOfferAndBundle(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	srv := reg.Server
	oldB, newB := randomBundle(t, 64<<10), randomBundle(t, 3<<20+123)
	addRelease(t, srv, "1.0-1", oldB)
	rel := addRelease(t, srv, "1.1-1", newB)
	if sum := sha256.Sum256(newB); rel.SHA256 != hex.EncodeToString(sum[:]) || rel.Size != int64(len(newB)) {
		t.Fatalf("release recorded as %+v", rel)
	}
	pilot, general := newRolloutStation(t, reg, "ST-PILOT"), newRolloutStation(t, reg, "ST-GEN")
	if err := srv.SetStationGroup(ctx, "ST-PILOT", registry.GroupPilot); err != nil {
		t.Fatal(err)
	}

	if o, err := pilot.check(t, "1.0-1"); err != nil || o != nil {
		t.Fatalf("no target yet: offer %+v, %v", o, err)
	}
	if err := srv.SetGroupTarget(ctx, registry.GroupPilot, "1.1-1", "test"); err != nil {
		t.Fatal(err)
	}
	o, err := pilot.check(t, "1.0-1")
	if err != nil || o == nil || *o != (protocol.UpdateOffer{Version: "1.1-1", SHA256: rel.SHA256, Size: rel.Size, Group: registry.GroupPilot}) {
		t.Fatalf("pilot station offered %+v, %v", o, err)
	}
	if o, err := general.check(t, "1.0-1"); err != nil || o != nil {
		t.Errorf("general station offered the pilot group's target: %+v, %v", o, err)
	}

	t.Run("bundle, whole and resumed", func(t *testing.T) {
		status, code, b, h := pilot.bundle(t, "ST-PILOT", "1.1-1", 0)
		if status != http.StatusOK || !bytes.Equal(b, newB) {
			t.Fatalf("bundle: %d %s, %d bytes, want the %d bytes of the release", status, code, len(b), len(newB))
		}
		if h.Get("Content-Type") != "application/octet-stream" || h.Get("Content-Encoding") != "" || h.Get("Content-Length") != strconv.Itoa(len(newB)) {
			t.Errorf("bundle headers %v", h)
		}
		for _, off := range []int64{1, 1<<20 + 7, int64(len(newB)) - 1, int64(len(newB))} {
			status, code, b, h := pilot.bundle(t, "ST-PILOT", "1.1-1", off)
			if status != http.StatusOK || !bytes.Equal(b, newB[off:]) || h.Get("Content-Length") != strconv.FormatInt(int64(len(newB))-off, 10) {
				t.Errorf("resumed from %d: %d %s, %d bytes, want exactly the %d remaining", off, status, code, len(b), int64(len(newB))-off)
			}
		}
		for _, off := range []int64{-1, int64(len(newB)) + 1} {
			if status, code, b, _ := pilot.bundle(t, "ST-PILOT", "1.1-1", off); status != http.StatusBadRequest || b != nil {
				t.Errorf("offset %d: %d %s", off, status, code)
			}
		}
	})

	t.Run("bundles not offered are refused", func(t *testing.T) {
		for _, c := range []struct {
			name, body, version string
			st                  *rolloutStation
			status              int
			code                string
		}{
			{"an old release", "ST-PILOT", "1.0-1", pilot, http.StatusNotFound, protocol.CodeNotOffered},
			{"a made-up version", "ST-PILOT", "9.9-1", pilot, http.StatusNotFound, protocol.CodeNotOffered},
			{"a path as version", "ST-PILOT", "../registry.db", pilot, http.StatusNotFound, protocol.CodeNotOffered},
			{"another group's target", "ST-GEN", "1.1-1", general, http.StatusNotFound, protocol.CodeNotOffered},
			{"another station's id in the body", "ST-PILOT", "1.1-1", general, http.StatusForbidden, protocol.CodeIdentityMismatch},
		} {
			status, code, b, _ := c.st.bundle(t, c.body, c.version, 0)
			if status != c.status || code != c.code || b != nil {
				t.Errorf("%s: %d %s (%d bytes), want %d %s", c.name, status, code, len(b), c.status, c.code)
			}
		}
		noCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: reg.Pool()}}}
		if status, code, b, _ := bundleWith(t, noCert, reg.URL, protocol.BundleRequest{StationID: "ST-PILOT", Version: "1.1-1"}); status != http.StatusUnauthorized || b != nil {
			t.Errorf("without a client certificate: %d %s", status, code)
		}
		ftc, err := registrytest.ForeignIdentity(t, reg, "ST-PILOT").TLSConfig()
		if err != nil {
			t.Fatal(err)
		}
		foreign := &http.Client{Transport: &http.Transport{TLSClientConfig: ftc}}
		if status, code, b, _ := bundleWith(t, foreign, reg.URL, protocol.BundleRequest{StationID: "ST-PILOT", Version: "1.1-1"}); status == http.StatusOK || b != nil {
			t.Errorf("with another CA's certificate for the station: %d %s", status, code)
		}
	})

	t.Run("never a downgrade", func(t *testing.T) {
		for _, running := range []string{"1.1-1", "1.1-2", "1:0.1", "2.0~rc1-1", ""} {
			if o, err := pilot.check(t, running); err != nil || o != nil {
				t.Errorf("running %q: offered %+v, %v", running, o, err)
			}
			if status, code, _, _ := pilot.bundle(t, "ST-PILOT", "1.1-1", 0); status != http.StatusNotFound || code != protocol.CodeNotOffered {
				t.Errorf("running %q: bundle 1.1-1 answered %d %s", running, status, code)
			}
		}
		if err := srv.SetGroupTarget(ctx, registry.GroupPilot, "1.0-1", "test"); err != nil { // back to the older release
			t.Fatal(err)
		}
		if o, err := pilot.check(t, "1.1-1"); err != nil || o != nil {
			t.Errorf("a target below the running version offered: %+v, %v", o, err)
		}
		if status, code, _, _ := pilot.bundle(t, "ST-PILOT", "1.0-1", 0); status != http.StatusNotFound || code != protocol.CodeNotOffered {
			t.Errorf("downgrade bundle answered %d %s", status, code)
		}
		if err := srv.SetGroupTarget(ctx, registry.GroupPilot, "1.1-1", "test"); err != nil {
			t.Fatal(err)
		}
		if o, err := pilot.check(t, "1.0~beta-1"); err != nil || o == nil || o.Version != "1.1-1" {
			t.Errorf("running 1.0~beta-1: offered %+v, %v", o, err)
		}
	})

	t.Run("a locked station is refused", func(t *testing.T) {
		if _, err := srv.SendCommand(ctx, "ST-PILOT", protocol.CmdLock); err != nil {
			t.Fatal(err)
		}
		_, err := pilot.check(t, "1.0-1")
		wantCode(t, "update check while locked", err, http.StatusLocked, protocol.CodeStationLocked)
		if status, code, b, _ := pilot.bundle(t, "ST-PILOT", "1.1-1", 0); status != http.StatusLocked || b != nil {
			t.Errorf("bundle while locked: %d %s", status, code)
		}
		if _, err := srv.SendCommand(ctx, "ST-PILOT", protocol.CmdUnlock); err != nil {
			t.Fatal(err)
		}
		if status, code, _, _ := pilot.bundle(t, "ST-PILOT", "1.1-1", 0); status != http.StatusOK {
			t.Errorf("bundle after unlocking: %d %s", status, code)
		}
	})

	t.Run("a revoked station is refused", func(t *testing.T) {
		if err := srv.RevokeStation(ctx, "ST-PILOT"); err != nil {
			t.Fatal(err)
		}
		pilot.hc.Transport.(*http.Transport).CloseIdleConnections()
		if status, code, b, _ := pilot.bundle(t, "ST-PILOT", "1.1-1", 0); status == http.StatusOK || b != nil {
			t.Errorf("bundle with a revoked certificate: %d %s", status, code)
		}
		if _, err := pilot.check(t, "1.0-1"); err == nil {
			t.Error("update check with a revoked certificate answered")
		}
	})

	t.Run("bad check requests", func(t *testing.T) {
		var resp protocol.UpdateCheckResponse
		err := protocol.Post(ctx, general.hc, reg.URL+protocol.PathUpdate, protocol.UpdateCheckRequest{StationID: "ST-PILOT", Version: "1.0-1"}, &resp)
		wantCode(t, "update check in another station's name", err, http.StatusForbidden, protocol.CodeIdentityMismatch)
		err = protocol.Post(ctx, general.hc, reg.URL+protocol.PathUpdate, protocol.UpdateCheckRequest{StationID: "ST-GEN", Version: "1.0-1", Slot: "C"}, &resp)
		wantCode(t, "update check with slot C", err, http.StatusBadRequest, protocol.CodeBadRequest)
	})
}

// TestPilotFirst: a release becomes the target of a group other than the
// pilot group only after a pilot station committed it (its update_result,
// or its status reporting it running and committed), and never after a
// pilot station rolled it back or refused it; a refusal changes nothing.
func TestPilotFirst(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	srv := reg.Server
	p1, p2 := newRolloutStation(t, reg, "ST-P1"), newRolloutStation(t, reg, "ST-P2")
	g := newRolloutStation(t, reg, "ST-G")
	for _, id := range []string{p1.id, p2.id} {
		if err := srv.SetStationGroup(ctx, id, registry.GroupPilot); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []string{"2.0-1", "3.0-1", "4.0-1", "5.0-1", "6.0-1"} {
		addRelease(t, srv, v, randomBundle(t, 1024))
	}
	target := func() string {
		groups, err := srv.UpdateGroups(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, gr := range groups {
			if gr.Name == registry.GroupGeneral {
				return gr.Target
			}
		}
		t.Fatal("no general group")
		return ""
	}
	refused := func(v, why string) {
		t.Helper()
		before := target()
		if err := srv.SetGroupTarget(ctx, registry.GroupGeneral, v, "test"); !errors.Is(err, registry.ErrPilotFirst) {
			t.Errorf("%s: general target %s: %v, want ErrPilotFirst", why, v, err)
		}
		if target() != before {
			t.Errorf("%s: the refused target changed the group", why)
		}
	}
	allowed := func(v, why string) {
		t.Helper()
		if err := srv.SetGroupTarget(ctx, registry.GroupGeneral, v, "test"); err != nil {
			t.Errorf("%s: general target %s: %v", why, v, err)
		}
		if o, err := g.check(t, "1.0-1"); err != nil || o == nil || o.Version != v || o.Group != registry.GroupGeneral {
			t.Errorf("%s: general station offered %+v, %v", why, o, err)
		}
	}
	res := func(st *rolloutStation, seq int64, result, v string) {
		t.Helper()
		if acks := st.pushResult(t, seq, uuid.NewString(), protocol.UpdateResultPayload{Result: result, Version: v, FromVersion: "1.0-1", Slot: "B", At: time.Now()}); acks[0].Result != protocol.AckStored {
			t.Fatalf("push: %+v", acks)
		}
	}

	// offer makes v the pilot group's target and has the pilot stations
	// check: only a result for a release offered to the station counts.
	offer := func(v string, sts ...*rolloutStation) {
		t.Helper()
		if err := srv.SetGroupTarget(ctx, registry.GroupPilot, v, "test"); err != nil {
			t.Fatalf("the pilot group takes any release: %v", err)
		}
		for _, st := range sts {
			if o, err := st.check(t, "1.0-1"); err != nil || o == nil || o.Version != v {
				t.Fatalf("%s offered %+v, %v; want %s", st.id, o, err, v)
			}
		}
	}

	refused("2.0-1", "before any pilot result")
	offer("2.0-1", p1, p2)
	refused("2.0-1", "the pilot's target, not yet committed")
	res(g, 1, protocol.UpdateCommitted, "2.0-1")
	refused("2.0-1", "committed by a general station only")
	res(p1, 1, protocol.UpdateDownloadError, "2.0-1")
	refused("2.0-1", "a pilot download failed")
	res(p1, 2, protocol.UpdateCommitted, "2.0-1")
	allowed("2.0-1", "after a pilot commit")

	offer("3.0-1", p1, p2)
	res(p1, 3, protocol.UpdateCommitted, "3.0-1")
	res(p2, 1, protocol.UpdateRolledBack, "3.0-1")
	refused("3.0-1", "one pilot committed, another rolled back")

	offer("4.0-1", p1, p2)
	res(p2, 2, protocol.UpdateInstallError, "4.0-1")
	res(p1, 4, protocol.UpdateCommitted, "4.0-1")
	refused("4.0-1", "a pilot station's installer refused it")

	offer("5.0-1", p1)
	p1.reportStatus(t, protocol.StationStatus{Version: "5.0-1", Slot: "B", Update: &protocol.UpdateState{State: protocol.UpdateCommitted, Version: "5.0-1", At: time.Now()}})
	allowed("5.0-1", "a pilot station reports it running and committed")

	offer("6.0-1", p1, p2)
	res(p1, 5, protocol.UpdateCommitted, "6.0-1")
	p2.reportStatus(t, protocol.StationStatus{Version: "5.0-1", Slot: "A", Update: &protocol.UpdateState{State: protocol.UpdateRolledBack, Version: "6.0-1", Reason: "health check failed"}})
	refused("6.0-1", "a pilot station's status reports it rolled back")

	if err := srv.SetGroupTarget(ctx, registry.GroupGeneral, "", "test"); err != nil {
		t.Errorf("clearing the target: %v", err)
	}
	if err := srv.SetGroupTarget(ctx, registry.GroupGeneral, "7.0-1", "test"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("a target that is no release: %v", err)
	}
}

// TestUpdateResultProjectedOnce: an update_result is the station's last
// result and counts once in the release's tally, however often it is
// pushed; an older result never replaces a newer one.
func TestUpdateResultProjectedOnce(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	srv := reg.Server
	st := newRolloutStation(t, reg, "ST-R")
	addRelease(t, srv, "2.0-1", randomBundle(t, 100))
	// Offered as the pilot's target: only a result for a release offered
	// to the station counts in the tally.
	if err := srv.SetStationGroup(ctx, st.id, registry.GroupPilot); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetGroupTarget(ctx, registry.GroupPilot, "2.0-1", "test"); err != nil {
		t.Fatal(err)
	}
	if o, err := st.check(t, "1.0-1"); err != nil || o == nil {
		t.Fatalf("offer: %+v, %v", o, err)
	}
	id := uuid.NewString()
	p := protocol.UpdateResultPayload{Result: protocol.UpdateRolledBack, Version: "2.0-1", FromVersion: "1.0-1", Slot: "B", Reason: "health check: store", At: time.Now()}
	if acks := st.pushResult(t, 2, id, p); acks[0].Result != protocol.AckStored {
		t.Fatalf("first push: %+v", acks)
	}
	for range 2 { // a retried push
		if acks := st.pushResult(t, 2, id, p); acks[0].Result != protocol.AckDuplicate {
			t.Fatalf("duplicate push: %+v", acks)
		}
	}
	if _, err := srv.Store(ctx, st.id, []protocol.Event{{Seq: 2, ID: id, Kind: protocol.KindUpdateResult, Payload: []byte(mustJSON(p)), CreatedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	// An older result arriving late.
	st.pushResult(t, 1, uuid.NewString(), protocol.UpdateResultPayload{Result: protocol.UpdateCommitted, Version: "1.0-1", At: time.Now().Add(-time.Hour)})
	rels, err := srv.Releases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 1 || rels[0].Tally[registry.GroupPilot][protocol.UpdateRolledBack] != 1 || len(rels[0].Tally[registry.GroupPilot]) != 1 || len(rels[0].Tally) != 1 {
		t.Errorf("tally after a duplicate push: %+v", rels)
	}
	ups, err := srv.StationUpdates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u := ups["ST-R"]
	if u.Result != protocol.UpdateRolledBack || u.ResultVersion != "2.0-1" || u.ResultFrom != "1.0-1" || u.ResultReason != "health check: store" || u.ResultAt.IsZero() {
		t.Errorf("last result: %+v", u)
	}
	// The pull's slot and update state, latest wins.
	st.reportStatus(t, protocol.StationStatus{Version: "1.0-1", Slot: "A", Update: &protocol.UpdateState{State: protocol.UpdateDownloading, Version: "2.0-2"}})
	st.reportStatus(t, protocol.StationStatus{Version: "1.0-1", Slot: "A", Update: &protocol.UpdateState{State: protocol.UpdateDownloaded, Version: "2.0-2"}})
	ups, _ = srv.StationUpdates(ctx)
	if u := ups["ST-R"]; u.Slot != "A" || u.Version != "1.0-1" || u.State != protocol.UpdateDownloaded || u.StateVersion != "2.0-2" {
		t.Errorf("status stored as %+v", u)
	}
}

// TestReleaseAdd: a release is stored by content (its SHA-256 and size
// recorded, the bytes in the releases directory); the same version with
// other bytes, a version that is no Debian version and an empty bundle
// are refused; adding is audited.
func TestReleaseAdd(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t, t.TempDir())
	srv := reg.Server
	b := randomBundle(t, 5000)
	rel := addRelease(t, srv, "1.2.3-1", b)
	if again := addRelease(t, srv, "1.2.3-1", b); again.SHA256 != rel.SHA256 {
		t.Errorf("the same release again: %+v", again)
	}
	if _, err := srv.AddRelease(ctx, "1.2.3-1", bytes.NewReader(randomBundle(t, 10)), "host:test"); !errors.Is(err, registry.ErrReleaseExists) {
		t.Errorf("same version, other bytes: %v", err)
	}
	// Debian versions a station would refuse (an epoch; over 64
	// characters) are refused here too, before they can become a target
	// that breaks every station's check.
	for _, v := range []string{"", "latest", "../../etc/passwd", "1.0 1", "1:2.0-1", "1." + strings.Repeat("9", 70)} {
		if _, err := srv.AddRelease(ctx, v, bytes.NewReader(b), "host:test"); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("version %q: %v", v, err)
		}
	}
	if _, err := srv.AddRelease(ctx, "1.2.4-1", bytes.NewReader(nil), "host:test"); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("empty bundle: %v", err)
	}
	rels, err := srv.Releases(ctx)
	if err != nil || len(rels) != 1 || rels[0].Version != "1.2.3-1" || rels[0].Size != 5000 || rels[0].AddedBy != "host:test" {
		t.Fatalf("releases: %+v, %v", rels, err)
	}
	recs, err := srv.AdminAudit(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Kind == "release.add" && r.Subject == "1.2.3-1" && strings.Contains(r.Detail, rel.SHA256) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("release.add audited %d times, want once", n)
	}
	if !registrytest.OnPostgres() { // a SQLite registry's backup carries the bundles (PostgreSQL: pg_dump and the data directory)
		dir := filepath.Join(t.TempDir(), "backup")
		if err := srv.Backup(ctx, dir); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join(dir, "releases", rel.SHA256+".raucb")); err != nil || !bytes.Equal(got, b) {
			t.Errorf("the backup's bundle: %d bytes, %v", len(got), err)
		}
	}
}

// TestUpdatesConsole: the page in Swedish and English; a viewer may not
// set a target or move a station; a cross-site post and one without the
// CSRF token are refused; the pilot-first refusal is a plain Swedish
// sentence (English on the toggle) and changes nothing; every change and
// refusal is audited; the overview shows version, slot and last result.
func TestUpdatesConsole(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	srv := reg.Server
	st := newRolloutStation(t, reg, "ST-C")
	addRelease(t, srv, "2.0-1", randomBundle(t, 100))
	f, as := rolloutConsole(t, srv)
	viewer, manager := as(viewerID), as(managerID)
	vTok, mTok := f.csrf(viewer), f.csrf(manager)
	target := func(group string) string {
		gs, _ := srv.UpdateGroups(ctx)
		for _, g := range gs {
			if g.Name == group {
				return g.Target
			}
		}
		return "?"
	}
	group := func() string { ups, _ := srv.StationUpdates(ctx); return ups["ST-C"].Group }

	res, page := f.get(viewer, "/admin/updates")
	for _, want := range []string{"Uppdateringar", "Uppdateringsgrupper", "allmän", "pilot", "2.0-1", "ST-C"} {
		if res.StatusCode != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("viewer's page (%d) lacks %q", res.StatusCode, want)
		}
	}
	if strings.Contains(page, "<form") {
		t.Error("the viewer is offered a form on the updates page")
	}
	if _, page := f.get(manager, "/admin/updates"); !strings.Contains(page, `action="/admin/updates/target"`) || !strings.Contains(page, `action="/admin/updates/group"`) {
		t.Error("the station manager is not offered the forms")
	}

	if code := f.post(viewer, "/admin/updates/target", withCSRF(url.Values{"group": {"pilot"}, "version": {"2.0-1"}}, vTok), nil); code != http.StatusForbidden || target("pilot") != "" {
		t.Errorf("viewer set a target: %d, target %q", code, target("pilot"))
	}
	if code := f.post(viewer, "/admin/updates/group", withCSRF(url.Values{"station": {"ST-C"}, "group": {"pilot"}}, vTok), nil); code != http.StatusForbidden || group() != registry.GroupGeneral {
		t.Errorf("viewer moved a station: %d, group %q", code, group())
	}
	if !f.auditHas("update.target", viewerID, "refused") || !f.auditHas("update.group", viewerID, "refused") {
		t.Error("the viewer's refused changes are not audited")
	}
	crossSite := func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }
	if code := f.post(manager, "/admin/updates/target", withCSRF(url.Values{"group": {"pilot"}, "version": {"2.0-1"}}, mTok), crossSite); code != http.StatusForbidden || target("pilot") != "" {
		t.Errorf("cross-site post: %d, target %q", code, target("pilot"))
	}
	if code := f.post(manager, "/admin/updates/target", url.Values{"group": {"pilot"}, "version": {"2.0-1"}}, nil); code != http.StatusForbidden || target("pilot") != "" {
		t.Errorf("post without the CSRF token: %d, target %q", code, target("pilot"))
	}

	// Pilot first: refused for the general group, in plain Swedish.
	status, body := postBody(t, f, manager, "/admin/updates/target", withCSRF(url.Values{"group": {"general"}, "version": {"2.0-1"}}, mTok))
	if status != http.StatusConflict || target("general") != "" || !strings.Contains(body, "Inget ändrades") || !strings.Contains(body, "pilotstation") || strings.Contains(body, "ErrPilotFirst") || strings.Contains(body, "committed") {
		t.Errorf("general target before the pilot: %d %q, target %q", status, body, target("general"))
	}
	if !f.auditHas("update.target", managerID, "refused") {
		t.Error("the pilot-first refusal is not audited")
	}
	setLang(t, manager, f.base+"/admin/updates", "en")
	if status, body := postBody(t, f, manager, "/admin/updates/target", withCSRF(url.Values{"group": {"general"}, "version": {"2.0-1"}}, mTok)); status != http.StatusConflict || !strings.Contains(body, "Nothing was changed") {
		t.Errorf("English refusal: %d %q", status, body)
	}
	if _, page := f.get(manager, "/admin/updates"); !strings.Contains(page, "Update groups") || !strings.Contains(page, "general") {
		t.Error("the English page is not English")
	}

	if code := f.post(manager, "/admin/updates/group", withCSRF(url.Values{"station": {"ST-C"}, "group": {"pilot"}}, mTok), nil); code != http.StatusOK || group() != registry.GroupPilot {
		t.Errorf("manager moves ST-C to the pilot group: %d, group %q", code, group())
	}
	if code := f.post(manager, "/admin/updates/group", withCSRF(url.Values{"station": {"ST-C"}, "group": {"nowhere"}}, mTok), nil); code != http.StatusBadRequest || group() != registry.GroupPilot {
		t.Errorf("a group that does not exist: %d, group %q", code, group())
	}
	if code := f.post(manager, "/admin/updates/target", withCSRF(url.Values{"group": {"pilot"}, "version": {"2.0-1"}}, mTok), nil); code != http.StatusOK || target("pilot") != "2.0-1" {
		t.Errorf("manager sets the pilot target: %d, target %q", code, target("pilot"))
	}
	if !f.auditHas("update.group", managerID, "ok") || !f.auditHas("update.target", managerID, "ok") {
		t.Error("the manager's changes are not audited")
	}
	if o, err := st.check(t, "1.0-1"); err != nil || o == nil || o.Version != "2.0-1" {
		t.Errorf("ST-C offered %+v, %v", o, err)
	}
	st.pushResult(t, 1, uuid.NewString(), protocol.UpdateResultPayload{Result: protocol.UpdateCommitted, Version: "2.0-1", FromVersion: "1.0-1", Slot: "B", At: time.Now()})
	st.reportStatus(t, protocol.StationStatus{Version: "2.0-1", Slot: "B"})
	if code := f.post(manager, "/admin/updates/target", withCSRF(url.Values{"group": {"general"}, "version": {"2.0-1"}}, mTok), nil); code != http.StatusOK || target("general") != "2.0-1" {
		t.Errorf("general target after the pilot commit: %d, target %q", code, target("general"))
	}
	setLang(t, manager, f.base+"/admin", "sv")
	_, overview := f.get(manager, "/admin")
	for _, want := range []string{"Plats", "Senaste uppdatering", "installerad och behållen 2.0-1", `href="/admin/updates"`} {
		if !strings.Contains(overview, want) {
			t.Errorf("the stations overview lacks %q", want)
		}
	}
	_, page = f.get(manager, "/admin/updates")
	if !strings.Contains(page, "installerad och behållen av en pilotstation") {
		t.Error("the updates page does not show the pilot commit")
	}
	// A station's reason is shown escaped, never as markup.
	st.pushResult(t, 2, uuid.NewString(), protocol.UpdateResultPayload{Result: protocol.UpdateDownloadError, Version: "2.0-1", Reason: `<script>alert(1)</script><img src=x onerror=alert(2)>`, At: time.Now()})
	_, page = f.get(manager, "/admin/updates")
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") || !strings.Contains(page, "&lt;script&gt;alert(1)") {
		t.Error("a station's update reason reaches the updates page as markup")
	}
}

// postBody posts form as the page does and returns the status and the
// plain-text answer.
func postBody(t *testing.T, f *consoleFixture, c *http.Client, path string, form url.Values) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/plain")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestEmbeddedUpdatesPage: on make run the console's updates page lists
// the local station in its group.
func TestEmbeddedUpdatesPage(t *testing.T) {
	e, err := registry.StartEmbedded(context.Background(), t.TempDir(), registrytest.Logger(t), registry.EmbeddedOptions{Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	base := strings.TrimSuffix(e.AdminURL, "/admin")
	cl := &http.Client{}
	page := getPage(t, cl, base+"/admin/updates")
	for _, want := range []string{"local-station", "allmän", "Inga versioner ännu"} {
		if !strings.Contains(page, want) {
			t.Errorf("updates page lacks %q", want)
		}
	}
}

// rolloutConsole serves srv's console over HTTPS with SITHS client
// certificates for a viewer and a station manager; as gives an admin's
// browser.
func rolloutConsole(t *testing.T, srv *registry.Server) (*consoleFixture, func(string) *http.Client) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	root := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.ECDSA)
	inter := root.Intermediate("SITHS e-id Person HSA-id 3 CA v1", trusttest.ECDSA)
	now := time.Now()
	type admin struct {
		cert *x509.Certificate
		key  crypto.Signer
	}
	admins := map[string]admin{}
	for _, id := range []string{viewerID, managerID} {
		c, k := inter.Issue(trusttest.Leaf{HSAID: id})
		admins[id] = admin{c, k}
	}
	if _, err := srv.AddIntermediate(ctx, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: inter.Cert.Raw})); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddCRL(ctx, trusttest.SignCRLDER(t, inter.Cert, inter.Key, now.Add(-time.Hour), now.Add(23*time.Hour))); err != nil {
		t.Fatal(err)
	}
	roles, err := registry.ParseRoles([]byte(viewerID + " viewer\n" + managerID + " station_manager\n"))
	if err != nil {
		t.Fatal(err)
	}
	console, err := srv.NewConsole(ctx, registry.ConsoleConfig{Anchors: root.PEM(), Roles: roles, Hosts: []string{"127.0.0.1"}, AllowUnsyncedClock: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- console.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	f := &consoleFixture{t: t, ctx: ctx, srv: srv, base: "https://" + ln.Addr().String(), pool: srv.CA().Pool()}
	return f, func(id string) *http.Client { return f.client(admins[id].cert, admins[id].key) }
}

// TestBundleOnEveryInstance: on several instances of one PostgreSQL
// registry each serves bundles from its own data directory; an instance
// the release was not added on answers 500 (never other bytes) until
// `release add` with the same bytes is run there too, which changes
// nothing in the database.
func TestBundleOnEveryInstance(t *testing.T) {
	ctx := context.Background()
	a, b := twoInstances(t, nil)
	bundle := randomBundle(t, 200<<10)
	addRelease(t, a.Server, "3.0-1", bundle)
	if err := a.Server.SetGroupTarget(ctx, registry.GroupPilot, "3.0-1", "test"); err != nil {
		t.Fatal(err)
	}
	if err := a.Server.SetStationGroup(ctx, "ST-I", registry.GroupPilot); err == nil || !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("moving an unknown station: %v", err)
	}
	onA := newRolloutStation(t, a, "ST-I")
	if err := a.Server.SetStationGroup(ctx, "ST-I", registry.GroupPilot); err != nil {
		t.Fatal(err)
	}
	onB := &rolloutStation{id: "ST-I", hc: onA.hc, reg: b}
	if o, err := onB.check(t, "2.0-1"); err != nil || o == nil || o.Version != "3.0-1" {
		t.Fatalf("offer at the other instance: %+v, %v", o, err)
	}
	if status, code, got, _ := onB.bundle(t, "ST-I", "3.0-1", 0); status != http.StatusInternalServerError || got != nil {
		t.Errorf("instance without the bundle: %d %s, %d bytes", status, code, len(got))
	}
	addRelease(t, b.Server, "3.0-1", bundle)
	if status, code, got, _ := onB.bundle(t, "ST-I", "3.0-1", 100); status != http.StatusOK || !bytes.Equal(got, bundle[100:]) {
		t.Errorf("after release add on the instance: %d %s, %d bytes", status, code, len(got))
	}
	rels, err := a.Server.Releases(ctx)
	if err != nil || len(rels) != 1 || rels[0].AddedBy != "host:test" {
		t.Errorf("releases: %+v, %v", rels, err)
	}
}

// TestRolloutEvidenceCannotBeForged: a station with a valid certificate
// tries to make a release look piloted. Pilot evidence counts only for a
// release that was offered to that station (its group's target above
// what it ran, at an update check) while in a pilot group: a committed
// result or status for a release the pilot never was offered, a result
// for a version that was no release yet (then added), and a general
// station's result do not count. Each station counts once per release
// and result in the tally, however many results it pushes. A reason or
// version with control characters, a NUL or cut inside a UTF-8 sequence
// is stored cleaned, on both backends (PostgreSQL refuses a NUL or
// invalid UTF-8 in text and would fail the push, every time it is
// retried).
func TestRolloutEvidenceCannotBeForged(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	srv := reg.Server
	p := newRolloutStation(t, reg, "ST-P")
	g := newRolloutStation(t, reg, "ST-G")
	if err := srv.SetStationGroup(ctx, p.id, registry.GroupPilot); err != nil {
		t.Fatal(err)
	}
	addRelease(t, srv, "2.0-1", randomBundle(t, 100))
	addRelease(t, srv, "3.0-1", randomBundle(t, 100))
	seq := int64(0)
	res := func(st *rolloutStation, result, v, reason string) {
		t.Helper()
		seq++
		if acks := st.pushResult(t, seq, uuid.NewString(), protocol.UpdateResultPayload{Result: result, Version: v, FromVersion: "1.0-1", Slot: "B", Reason: reason, At: time.Now()}); len(acks) != 1 || acks[0].Result != protocol.AckStored {
			t.Fatalf("push %s %s: %+v", result, v, acks)
		}
	}
	refused := func(v, why string) {
		t.Helper()
		if err := srv.SetGroupTarget(ctx, registry.GroupGeneral, v, "test"); !errors.Is(err, registry.ErrPilotFirst) {
			t.Errorf("%s: general target %s: %v, want ErrPilotFirst", why, v, err)
		}
	}

	// Committed, by result and by status, for a release never offered.
	res(p, protocol.UpdateCommitted, "2.0-1", "")
	p.reportStatus(t, protocol.StationStatus{Version: "2.0-1", Slot: "B", Update: &protocol.UpdateState{State: protocol.UpdateCommitted, Version: "2.0-1", At: time.Now()}})
	refused("2.0-1", "a pilot's forged commit of a release it was never offered")
	// Committed for a version that is no release yet; then it is added
	// and made the pilot's target, but no pilot has run it.
	res(p, protocol.UpdateCommitted, "4.0-1", "")
	addRelease(t, srv, "4.0-1", randomBundle(t, 100))
	if err := srv.SetGroupTarget(ctx, registry.GroupPilot, "4.0-1", "test"); err != nil {
		t.Fatal(err)
	}
	refused("4.0-1", "a commit pushed before the release existed")
	// A general station's results for the pilot's target.
	if o, err := g.check(t, "1.0-1"); err != nil || o != nil {
		t.Fatalf("general station offered %+v, %v", o, err)
	}
	res(g, protocol.UpdateCommitted, "4.0-1", "")
	refused("4.0-1", "committed by a general station")

	// Tallies: one pilot, offered 4.0-1, pushes its commit five times
	// (new events each time): one station, one count.
	if o, err := p.check(t, "1.0-1"); err != nil || o == nil || o.Version != "4.0-1" {
		t.Fatalf("pilot offered %+v, %v", o, err)
	}
	for range 5 {
		res(p, protocol.UpdateCommitted, "4.0-1", "")
	}
	if err := srv.SetGroupTarget(ctx, registry.GroupGeneral, "4.0-1", "test"); err != nil {
		t.Errorf("after an offered pilot's commit: %v", err)
	}
	rels, err := srv.Releases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range rels {
		want := map[string]map[string]int64{}
		if rel.Version == "4.0-1" {
			want[registry.GroupPilot] = map[string]int64{protocol.UpdateCommitted: 1}
		}
		if len(rel.Tally) != len(want) || (len(want) > 0 && (len(rel.Tally[registry.GroupPilot]) != 1 || rel.Tally[registry.GroupPilot][protocol.UpdateCommitted] != 1)) {
			t.Errorf("release %s tally %v, want %v", rel.Version, rel.Tally, want)
		}
	}

	// Odd strings: a NUL, control characters, HTML, a multi-byte
	// character cut by the length bound.
	reason := "a\x00b\x1b[31m\r\n<script>alert(1)</script>" + strings.Repeat("å", 300)
	res(p, protocol.UpdateDownloadError, "9.9-1\x00", reason)
	ups, err := srv.StationUpdates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u := ups[p.id]
	if u.Result != protocol.UpdateDownloadError || !utf8.ValidString(u.ResultReason) || !utf8.ValidString(u.ResultVersion) ||
		strings.ContainsFunc(u.ResultReason+u.ResultVersion, unicode.IsControl) || len(u.ResultReason) > 500 || !strings.HasPrefix(u.ResultReason, "ab[31m") {
		t.Errorf("last result stored as %q %q %q", u.Result, u.ResultVersion, u.ResultReason)
	}
	p.reportStatus(t, protocol.StationStatus{Version: "4.0-1\x00", Slot: "B", Update: &protocol.UpdateState{State: protocol.UpdateCommitted, Version: "4.0-1\xff"}})
	ups, err = srv.StationUpdates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if u := ups[p.id]; !utf8.ValidString(u.Version+u.StateVersion) || strings.ContainsFunc(u.Version+u.StateVersion, unicode.IsControl) {
		t.Errorf("status stored as %q %q", u.Version, u.StateVersion)
	}
	// An update check with such a version is a bad request (on
	// PostgreSQL it was an internal error), nothing recorded.
	_, err = p.check(t, "1.0-1\x00")
	wantCode(t, "update check with a NUL in the version", err, http.StatusBadRequest, protocol.CodeBadRequest)
}
