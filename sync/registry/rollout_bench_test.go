package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// BenchmarkBundleDownload: one station downloads a 64 MiB bundle over
// mutual TLS on loopback (POST /v1/bundle, streamed from the file);
// MB/s is the registry's serving rate for one download.
func BenchmarkBundleDownload(b *testing.B) {
	ctx := context.Background()
	reg := registrytest.Start(b)
	bundle := bytes.Repeat([]byte("0123456789abcdef"), 4<<20) // 64 MiB
	if _, err := reg.Server.AddRelease(ctx, "2.0-1", bytes.NewReader(bundle), "host:bench"); err != nil {
		b.Fatal(err)
	}
	if err := reg.Server.SetGroupTarget(ctx, registry.GroupPilot, "2.0-1", "bench"); err != nil {
		b.Fatal(err)
	}
	tc, err := reg.Identity(b, "ST-BENCH").TLSConfig()
	if err != nil {
		b.Fatal(err)
	}
	if err := reg.Server.SetStationGroup(ctx, "ST-BENCH", registry.GroupPilot); err != nil {
		b.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	var resp protocol.UpdateCheckResponse
	if err := protocol.Post(ctx, hc, reg.URL+protocol.PathUpdate, protocol.UpdateCheckRequest{StationID: "ST-BENCH", Version: "1.0-1"}, &resp); err != nil || resp.Offer == nil {
		b.Fatalf("offer %+v, %v", resp.Offer, err)
	}
	body, _ := json.Marshal(protocol.BundleRequest{StationID: "ST-BENCH", Version: "2.0-1"})
	b.SetBytes(int64(len(bundle)))
	b.ResetTimer()
	for b.Loop() {
		res, err := hc.Post(reg.URL+protocol.PathBundle, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil || n != int64(len(bundle)) || res.StatusCode != http.StatusOK {
			b.Fatalf("%d: %d bytes, %v", res.StatusCode, n, err)
		}
	}
}
