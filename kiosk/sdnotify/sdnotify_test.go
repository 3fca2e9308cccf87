package sdnotify

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

func listen(t *testing.T) (*net.UnixConn, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, path
}

func recv(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 256)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	return string(buf[:n])
}

func TestReadyAndWatchdogWhileHealthy(t *testing.T) {
	c, path := listen(t)
	n := New(func(k string) string {
		return map[string]string{"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "40000"}[k]
	})
	if !n.Enabled() || n.WatchdogInterval() != 40*time.Millisecond {
		t.Fatalf("enabled=%v interval=%v", n.Enabled(), n.WatchdogInterval())
	}
	if err := n.Send("READY=1"); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, c); got != "READY=1" {
		t.Fatalf("got %q", got)
	}
	var healthy atomic.Bool
	healthy.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, 16)
	go n.Watchdog(ctx, func(context.Context) error {
		if healthy.Load() {
			return nil
		}
		return errors.New("store gone")
	}, func(err error) { errs <- err })
	if got := recv(t, c); got != "WATCHDOG=1" {
		t.Fatalf("got %q", got)
	}
	// Unhealthy: no more pets, the error is reported.
	healthy.Store(false)
	select {
	case <-errs:
	case <-time.After(2 * time.Second):
		t.Fatal("unhealthy store not reported")
	}
	for { // drain pets sent before the switch
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		buf := make([]byte, 64)
		if _, err := c.Read(buf); err != nil {
			break
		}
	}
	c.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	if _, err := c.Read(make([]byte, 64)); err == nil {
		t.Error("watchdog petted while unhealthy")
	}
}

func TestNoSocketIsNoOp(t *testing.T) {
	n := New(func(string) string { return "" })
	if n.Enabled() {
		t.Fatal("enabled without NOTIFY_SOCKET")
	}
	if err := n.Send("READY=1"); err != nil {
		t.Fatal(err)
	}
}
