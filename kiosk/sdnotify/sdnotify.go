// Package sdnotify speaks systemd's service notification protocol: a
// datagram to $NOTIFY_SOCKET saying READY=1, WATCHDOG=1 or STOPPING=1. With
// no NOTIFY_SOCKET (not run by systemd) every call is a no-op.
package sdnotify

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"
)

// Notifier sends notifications to one socket.
type Notifier struct {
	socket   string
	watchdog time.Duration
}

// New reads NOTIFY_SOCKET and WATCHDOG_USEC through getenv.
func New(getenv func(string) string) *Notifier {
	n := &Notifier{socket: getenv("NOTIFY_SOCKET")}
	if us, err := strconv.ParseInt(getenv("WATCHDOG_USEC"), 10, 64); err == nil && us > 0 {
		n.watchdog = time.Duration(us) * time.Microsecond
	}
	return n
}

// Enabled reports whether a notification socket is set.
func (n *Notifier) Enabled() bool { return n.socket != "" }

// WatchdogInterval is systemd's watchdog timeout, or 0 when none is set.
func (n *Notifier) WatchdogInterval() time.Duration { return n.watchdog }

// Send sends one notification state, e.g. "READY=1".
func (n *Notifier) Send(state string) error {
	if n.socket == "" {
		return nil
	}
	addr := n.socket
	if addr[0] == '@' { // abstract namespace
		addr = "\x00" + addr[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sdnotify: dial %s: %w", n.socket, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sdnotify: send %q: %w", state, err)
	}
	return nil
}

// Watchdog pets the watchdog at half its interval for as long as healthy
// answers nil, until ctx ends. A failing health check stops the petting, so
// systemd restarts a daemon whose store no longer answers.
func (n *Notifier) Watchdog(ctx context.Context, healthy func(context.Context) error, onError func(error)) {
	if n.socket == "" || n.watchdog == 0 {
		return
	}
	t := time.NewTicker(n.watchdog / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			hctx, cancel := context.WithTimeout(ctx, n.watchdog/4)
			err := healthy(hctx)
			cancel()
			if err != nil {
				onError(err)
				continue
			}
			if err := n.Send("WATCHDOG=1"); err != nil {
				onError(err)
			}
		}
	}
}
