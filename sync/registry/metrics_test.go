package registry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/sync/client/reconcile"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

// TestMetricsAndReadiness (issue 17, health and metrics): after a station
// syncs, /metrics holds the push and pull latency histograms and the
// station's last-seen age, /readyz says ready, and the station API's
// readiness answers too; with the database gone both say not ready.
func TestMetricsAndReadiness(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	tc, err := reg.Identity(t, "ST-M").TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	st := &simStation{id: "ST-M", hc: reconcile.NewHTTPClient(tc, 10*time.Second, nil), cursors: map[string]string{}}
	for _, k := range protocol.RefKinds {
		st.cursors[k] = ""
	}
	defer st.hc.CloseIdleConnections()
	if err := st.sync(ctx, reg.URL, 3); err != nil {
		t.Fatal(err)
	}
	h := reg.Server.MetricsHandler()
	code, body := get(t, h, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		"# TYPE registry_request_duration_seconds histogram",
		`registry_request_duration_seconds_count{endpoint="push"} 1`,
		`registry_request_duration_seconds_bucket{endpoint="pull",le="+Inf"}`,
		"registry_up 1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	m := regexp.MustCompile(`registry_station_last_seen_age_seconds\{station="ST-M"\} (\S+)`).FindStringSubmatch(body)
	if m == nil {
		t.Errorf("/metrics lacks the station's last-seen age:\n%s", body)
	} else if age, err := strconv.ParseFloat(m[1], 64); err != nil || age < 0 || age > 60 {
		t.Errorf("last-seen age %q, want a few seconds", m[1])
	}
	if code, body := get(t, h, "/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}
	res, err := st.hc.Get(reg.URL + registry.PathReady)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("station API readiness: %d", res.StatusCode)
	}

	reg.Server.Close() // the database is gone
	if code, _ := get(t, h, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz without a database: %d, want 503", code)
	}
	if _, body := get(t, h, "/metrics"); !strings.Contains(body, "registry_up 0") {
		t.Errorf("/metrics without a database lacks registry_up 0")
	}
}
