package reconcile_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/client/enrol"
	"github.com/kortstation/kortstation/sync/client/reconcile"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// BenchmarkPush100k pushes a 100,000-record backlog over mutual TLS on
// loopback. The station runs in its own process (so its peak RSS is its
// own), against the real registry in this one. Reported: records/s and the
// station process's peak RSS and Go heap.
func BenchmarkPush100k(b *testing.B) {
	const n = 100_000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		reg := registrytest.Start(b)
		id := reg.Identity(b, fmt.Sprintf("ST-BENCH-%d", i))
		s := newStation(b, id, reg.URL, nil)
		err := s.st.Update(context.Background(), s.clk, func(tx *store.Tx) error {
			for j := 0; j < n; j++ {
				if _, err := tx.Enqueue(context.Background(),
					paddedMovement{StockMovementPayload: protocol.StockMovementPayload{CardSerial: fmt.Sprintf("RK-%08d", j), Movement: "counted", ShipmentRef: "SHIP-0001"}, Pad: randHex(64)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		s.st.Close()
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPushProcess$", "-test.bench=^$")
		cmd.Env = append(os.Environ(), "KORT_PUSH_DB="+s.path, "KORT_PUSH_URL="+reg.URL, "KORT_PUSH_ID="+id.StationID,
			"KORT_PUSH_CA="+id.CAFile, "KORT_PUSH_CERT="+id.CertFile, "KORT_PUSH_KEY="+id.KeyFile)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		b.StartTimer()
		if err := cmd.Run(); err != nil {
			b.Fatalf("station process: %v\n%s", err, out.String())
		}
		b.StopTimer()
		m := parseMetrics(out.String())
		if m["acked"] != n {
			b.Fatalf("pushed %v of %d:\n%s", m["acked"], n, out.String())
		}
		if got := eventCount(b, reg, id.StationID); got != n {
			b.Fatalf("registry holds %d, want %d", got, n)
		}
		b.ReportMetric(m["acked"]/m["seconds"], "records/s")
		b.ReportMetric(m["rss_kb"]/1024, "station-peak-RSS-MB")
		b.ReportMetric(m["heap_mb"], "station-peak-heap-MB")
		b.StartTimer()
	}
}

func parseMetrics(s string) map[string]float64 {
	m := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		for _, f := range strings.Fields(sc.Text()) {
			if k, v, ok := strings.Cut(f, "="); ok {
				if x, err := strconv.ParseFloat(v, 64); err == nil {
					m[k] = x
				}
			}
		}
	}
	return m
}

// TestHelperPushProcess is the station process of BenchmarkPush100k;
// without its environment it does nothing.
func TestHelperPushProcess(t *testing.T) {
	path := os.Getenv("KORT_PUSH_DB")
	if path == "" {
		return
	}
	st := openStore(t, path)
	defer st.Close()
	id := enrol.Identity{StationID: os.Getenv("KORT_PUSH_ID"), URL: os.Getenv("KORT_PUSH_URL"),
		CAFile: os.Getenv("KORT_PUSH_CA"), CertFile: os.Getenv("KORT_PUSH_CERT"), KeyFile: os.Getenv("KORT_PUSH_KEY")}
	cli, err := reconcile.New(reconcile.Config{Identity: id, BatchSize: 2000}, st, newClock(), registrytest.Logger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	var peakHeap uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	n, err := cli.Push(context.Background())
	secs := time.Since(start).Seconds()
	close(stop)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("acked=%d seconds=%f rss_kb=%d heap_mb=%f\n", n, secs, vmHWM(), float64(peakHeap)/(1<<20))
}

func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return -1
}

// BenchmarkEmptyPull is an incremental pull with nothing new, over an
// established mutual-TLS connection; it reports the bytes on the wire per
// pull (both directions, TLS records and HTTP/2 headers included).
func BenchmarkEmptyPull(b *testing.B) {
	reg := registrytest.Start(b)
	if err := reg.Server.Seed(context.Background(), "ST-EMPTY"); err != nil {
		b.Fatal(err)
	}
	p := registrytest.NewProxy(b, reg.Addr)
	s := newStation(b, reg.Identity(b, "ST-EMPTY"), p.URL(), nil)
	ctx := context.Background()
	if err := s.cli.Once(ctx); err != nil {
		b.Fatal(err)
	}
	if err := s.cli.Pull(ctx); err != nil { // warm the connection
		b.Fatal(err)
	}
	up0, down0 := p.Bytes()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.cli.Pull(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	up, down := p.Bytes()
	b.ReportMetric(float64(up-up0)/float64(b.N), "bytes-up/op")
	b.ReportMetric(float64(down-down0)/float64(b.N), "bytes-down/op")
	b.ReportMetric(float64(up-up0+down-down0)/float64(b.N), "wire-bytes/op")
}
