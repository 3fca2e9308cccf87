package provision_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/images/provision"
	"github.com/kortstation/kortstation/kiosk/app"
	"github.com/kortstation/kortstation/sync/client/enrol"
	"github.com/kortstation/kortstation/sync/registrytest"
)

func TestMain(m *testing.M) { registrytest.Main(m) }

// readEnvFile reads provisioning.env as kioskd.service's EnvironmentFile=
// does for these lines: KEY=VALUE, '#' comments, blank lines.
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: line %q is not KEY=VALUE", path, line)
		}
		env[k] = v
	}
	return env
}

// kioskd runs the station's kioskd in-process as kioskd.service does on the
// appliance — the image's kioskd.json, provisioning.env as its environment —
// with the data directory moved to dir and the SITHS roots a throwaway
// certificate (the image has none; sync does not read them).
func kioskd(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	env := readEnvFile(t, filepath.Join(dir, provision.EnvFile))
	anchors := filepath.Join(t.TempDir(), "siths-roots.pem")
	if err := os.WriteFile(anchors, selfSignedPEM(t), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := app.Main(ctx, app.Env{
		Args:   append([]string{"-config", "../deb/kioskd.json", "-data-dir", dir, "-trust-anchors", anchors, "-log-format", "text"}, args...),
		Stdout: &out, Stderr: &logs,
		Getenv: func(k string) string { return env[k] },
	})
	t.Logf("kioskd %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), logs.String())
	return out.String() + logs.String(), err
}

// TestProvisionedStationEnrols proves the fix end to end with real parts:
// what provisioning writes (the touchscreen form's fingerprint only, a
// technician's CA file only, or both), read by kioskd as on the appliance
// (the image's kioskd.json with provisioning.env as its environment), makes
// the station enrol at a real registry over TLS with the one-time code and
// then sync over mTLS — on its first start and on the next one, when the
// code is spent and only the identity enrolment left under station/ counts.
// And pinning holds: a fingerprint of another CA makes kioskd refuse the
// registry before the code is sent (the code still works afterwards).
func TestProvisionedStationEnrols(t *testing.T) {
	reg := registrytest.Start(t)
	regCA := reg.Server.CA().CertPEM
	regFP := fingerprintOf(t, regCA)
	ctx := context.Background()

	for _, c := range []struct {
		name, station string
		req           func(*provision.Request)
	}{
		{"form: fingerprint only, as typed", "st-form", func(r *provision.Request) { r.RegistryCAFingerprint = grouped(regFP, " ", 4, true) }},
		{"technician: CA file only", "st-cafile", func(r *provision.Request) { r.RegistryCA = regCA }},
		{"technician: CA file and fingerprint", "st-both", func(r *provision.Request) {
			r.RegistryCA, r.RegistryCAFingerprint = regCA, grouped(regFP, ":", 2, true)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			station := c.station
			code, err := reg.Server.NewEnrolCode(ctx, station, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			req := provision.Request{RegistryURL: reg.URL, EnrolCode: code, StationID: station}
			c.req(&req)
			if err := (provision.Writer{Dir: dir, UID: -1, GID: -1}).Write(req); err != nil {
				t.Fatal(err)
			}
			out, err := kioskd(t, dir, "sync", "--once")
			if err != nil {
				t.Fatalf("first start after provisioning: enrol and sync: %v", err)
			}
			if !strings.Contains(out, "sync ok") {
				t.Fatalf("no sync: %s", out)
			}
			if strings.Contains(out, code) {
				t.Error("kioskd's output holds the enrolment code")
			}
			pinned, err := os.ReadFile(filepath.Join(dir, "station", enrol.CAFileName))
			if err != nil || fingerprintOf(t, pinned) != regFP {
				t.Fatalf("station/%s after enrolment: %v, want the registry's CA", enrol.CAFileName, err)
			}
			// The next start: the code is spent, the identity from
			// enrolment carries the station.
			if out, err := kioskd(t, dir, "sync", "--once"); err != nil || !strings.Contains(out, "sync ok") {
				t.Fatalf("second start: %v", err)
			}
		})
	}

	t.Run("fingerprint of another CA is refused, the code not sent", func(t *testing.T) {
		code, err := reg.Server.NewEnrolCode(ctx, "st-pinned", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		w := provision.Writer{Dir: dir, UID: -1, GID: -1}
		if err := w.Write(provision.Request{RegistryURL: reg.URL, EnrolCode: code, StationID: "st-pinned",
			RegistryCAFingerprint: grouped(fingerprintOf(t, selfSignedPEM(t)), ":", 2, true)}); err != nil {
			t.Fatal(err)
		}
		_, err = kioskd(t, dir, "sync", "--once")
		if !errors.Is(err, enrol.ErrFingerprint) {
			t.Fatalf("enrolment against a registry whose CA is not the pinned one: %v, want ErrFingerprint", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "station", enrol.CertFileName)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a station certificate was stored after a refused enrolment: %v", err)
		}
		// The code never reached the registry: provisioned again with the
		// right fingerprint, the station enrols with it.
		dir2 := t.TempDir()
		if err := (provision.Writer{Dir: dir2, UID: -1, GID: -1}).Write(provision.Request{RegistryURL: reg.URL, EnrolCode: code, StationID: "st-pinned",
			RegistryCAFingerprint: regFP}); err != nil {
			t.Fatal(err)
		}
		if out, err := kioskd(t, dir2, "sync", "--once"); err != nil || !strings.Contains(out, "sync ok") {
			t.Fatalf("enrolment with the code after the refusal: %v", err)
		}
	})
}
