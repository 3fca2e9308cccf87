// Command kortstation-provision is the appliance's first-boot provisioning
// (kortstation-provision.service): until the station is provisioned it reads
// the boot partition's kortstation-provision.conf if there is one, otherwise
// serves the touchscreen form; then it starts kioskd.service and exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/kortstation/kortstation/images/provision"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Args[1:], log); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "kortstation-provision:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("kortstation-provision", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8080", "address of the touchscreen form")
	dir := fs.String("state-dir", "/var/lib/kortstation", "the station's state directory")
	owner := fs.String("owner", "", "user (and its group) to own the files written; empty keeps the caller's")
	fromFile := fs.String("from-file", "", "read the values from this file if it exists, then delete it")
	thenStart := fs.String("then-start", "", "systemd unit to start once provisioned (systemctl --no-block start)")
	thenRestart := fs.String("then-restart", "", "systemd unit to restart after that, e.g. the touchscreen, which then finds the station's UI token (systemctl --no-block restart)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	w := provision.Writer{Dir: *dir, UID: -1, GID: -1}
	if *owner != "" {
		u, err := user.Lookup(*owner)
		if err != nil {
			return fmt.Errorf("owner: %w", err)
		}
		w.UID, _ = strconv.Atoi(u.Uid)
		w.GID, _ = strconv.Atoi(u.Gid)
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	done := func() error {
		if *thenStart == "" {
			return nil
		}
		out, err := exec.CommandContext(ctx, "systemctl", "--no-block", "start", *thenStart).CombinedOutput()
		if err != nil {
			return fmt.Errorf("start %s: %w: %s", *thenStart, err, out)
		}
		if *thenRestart == "" {
			return nil
		}
		// Queued after the start above: the unit ordered After= it (the
		// touchscreen after kioskd) restarts once kioskd is ready.
		if out, err := exec.CommandContext(ctx, "systemctl", "--no-block", "restart", *thenRestart).CombinedOutput(); err != nil {
			return fmt.Errorf("restart %s: %w: %s", *thenRestart, err, out)
		}
		return nil
	}
	if provision.Provisioned(*dir) {
		log.Info("already provisioned")
		return done()
	}
	notice := ""
	if *fromFile != "" {
		b, err := os.ReadFile(*fromFile)
		switch {
		case err == nil:
			req, err := provision.ParseFile(b, filepath.Dir(*fromFile))
			if err == nil {
				err = w.Write(req)
			}
			var fe *provision.FieldError
			if err != nil && !errors.As(err, &fe) {
				return fmt.Errorf("%s: %w", *fromFile, err) // kept for the next try
			}
			// The file holds the one-time code: it must not stay on the
			// card, used or refused.
			if rerr := os.Remove(*fromFile); rerr != nil {
				log.Warn("could not delete the provisioning file", "path", *fromFile, "err", rerr)
			}
			if err == nil {
				log.Info("provisioned from file", "path", *fromFile)
				return done()
			}
			// A file that cannot provision (e.g. no pin of the registry's
			// CA) is said on the screen, where the form takes over, not
			// only in the journal.
			log.Error("provisioning file refused; serving the form", "path", *fromFile, "err", err)
			notice = provision.FileNotice(filepath.Base(*fromFile), err)
		case !errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("read %s: %w", *fromFile, err)
		}
	}
	return serve(ctx, *listen, w, log, notice, done)
}

func serve(ctx context.Context, addr string, w provision.Writer, log *slog.Logger, notice string, done func() error) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	finished := make(chan struct{})
	form := &provision.Form{Writer: w, Log: log, Notice: notice, Done: func() { close(finished) }}
	srv := &http.Server{Handler: form, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("serving the provisioning form", "addr", ln.Addr().String())
	select {
	case <-ctx.Done():
		srv.Close()
		return ctx.Err()
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-finished:
	}
	// Let the "starting" page reach the browser, then free the port for kioskd.
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	return done()
}
