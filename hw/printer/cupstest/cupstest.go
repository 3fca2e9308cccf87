// Package cupstest gives tests a real CUPS server with a cups-pdf queue.
//
// Start makes sure cupsd runs (starting `cupsd -f` itself when it does not),
// creates or resets the queue with lpadmin, and finds where cups-pdf writes
// its output. It never skips: when the system packages are missing it
// returns an error that names the apt-get command to install them, and a
// TestMain should fail with it. All tests that use cupsd belong in one
// package, because `go test` runs packages in parallel and they would share
// the queue.
package cupstest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Packages are the Debian packages the harness needs.
const Packages = "cups printer-driver-cups-pdf poppler-utils"

// InstallHint is the command that installs Packages.
const InstallHint = "apt-get install -y " + Packages

// User is a requesting-user-name that is not in /etc/passwd, so cups-pdf
// writes its jobs to the anonymous output directory.
const User = "kortstation-cupstest"

const (
	ppdFile        = "/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd"
	backendFile    = "/usr/lib/cups/backend/cups-pdf"
	cupsPDFConf    = "/etc/cups/cups-pdf.conf"
	defaultAnonDir = "/var/spool/cups-pdf/ANONYMOUS"
)

// Server is a running cupsd with one cups-pdf queue.
type Server struct {
	// Host and Port where cupsd listens for IPP.
	Host string
	Port int
	// Queue is the cups-pdf queue's name.
	Queue string
	// OutputDir is where cups-pdf writes the jobs of User.
	OutputDir string

	cmd    *exec.Cmd // cupsd, when Start started it
	exited chan struct{}
	output *syncBuffer
}

// Start makes sure cupsd runs and queue is a ready, accepting cups-pdf
// queue with no jobs. If Start had to start cupsd, Close stops it.
func Start(ctx context.Context, queue string) (*Server, error) {
	if queue == "" || strings.ContainsAny(queue, "/#? \t") {
		return nil, fmt.Errorf("cupstest: invalid queue name %q", queue)
	}
	if err := checkInstalled(); err != nil {
		return nil, err
	}
	s := &Server{Host: "localhost", Port: 631, Queue: queue}
	if !s.running(ctx) {
		if err := s.startCupsd(ctx); err != nil {
			return nil, err
		}
	}
	if err := s.waitListening(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if _, err := run(ctx, "lpadmin", "-p", queue, "-v", "cups-pdf:/", "-P", ppdFile, "-E"); err != nil {
		s.Close()
		return nil, fmt.Errorf("cupstest: creating queue %s: %w", queue, err)
	}
	if err := s.Reset(ctx); err != nil {
		s.Close()
		return nil, err
	}
	dir, err := OutputDir(cupsPDFConf, User)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.OutputDir = dir
	return s, nil
}

// Reset enables the queue, makes it accept jobs and cancels its jobs.
func (s *Server) Reset(ctx context.Context) error {
	for _, args := range [][]string{{"cupsenable", s.Queue}, {"cupsaccept", s.Queue}, {"cancel", "-a", s.Queue}} {
		if _, err := run(ctx, args[0], args[1:]...); err != nil {
			return fmt.Errorf("cupstest: resetting queue %s: %w", s.Queue, err)
		}
	}
	return nil
}

// Disable stops the queue (cupsdisable): jobs wait in it.
func (s *Server) Disable(ctx context.Context) error {
	_, err := run(ctx, "cupsdisable", s.Queue)
	return err
}

// Enable starts the queue again (cupsenable).
func (s *Server) Enable(ctx context.Context) error {
	_, err := run(ctx, "cupsenable", s.Queue)
	return err
}

// Reject makes the queue refuse new jobs (cupsreject).
func (s *Server) Reject(ctx context.Context) error {
	_, err := run(ctx, "cupsreject", s.Queue)
	return err
}

// Accept makes the queue take new jobs again (cupsaccept).
func (s *Server) Accept(ctx context.Context) error {
	_, err := run(ctx, "cupsaccept", s.Queue)
	return err
}

// TakeOutput waits for the PDF that cups-pdf wrote for a job whose name
// contains token (letters, digits and '-' survive cups-pdf's file naming),
// returns its bytes and removes the file.
func (s *Server) TakeOutput(ctx context.Context, token string) ([]byte, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		entries, err := os.ReadDir(s.OutputDir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("cupstest: reading %s: %w", s.OutputDir, err)
		}
		for _, e := range entries {
			if !strings.Contains(e.Name(), token) || !strings.HasSuffix(e.Name(), ".pdf") {
				continue
			}
			name := filepath.Join(s.OutputDir, e.Name())
			b, err := os.ReadFile(name)
			if err != nil {
				return nil, fmt.Errorf("cupstest: reading output: %w", err)
			}
			if bytes.Contains(b[max(0, len(b)-1024):], []byte("%%EOF")) {
				if err := os.Remove(name); err != nil {
					return nil, fmt.Errorf("cupstest: removing output: %w", err)
				}
				return b, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("cupstest: no complete output for %q in %s: %w", token, s.OutputDir, ctx.Err())
		case <-tick.C:
		}
	}
}

// RemoveJobOutputs removes what cups-pdf wrote for the given job IDs (its
// file names end in "job_ID.pdf"), e.g. for jobs whose output no test read.
func (s *Server) RemoveJobOutputs(ids ...int) error {
	entries, err := os.ReadDir(s.OutputDir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("cupstest: reading %s: %w", s.OutputDir, err)
	}
	var errs []error
	for _, e := range entries {
		for _, id := range ids {
			suffix := fmt.Sprintf("job_%d.pdf", id)
			if e.Name() == suffix || strings.HasSuffix(e.Name(), "-"+suffix) {
				if err := os.Remove(filepath.Join(s.OutputDir, e.Name())); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// Close stops cupsd if Start started it. The queue stays configured.
func (s *Server) Close() error {
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return errors.New("cupstest: cupsd did not stop on SIGTERM; killed")
	}
	s.cmd = nil
	return nil
}

// StartedCupsd reports whether Start started cupsd (rather than finding it
// running).
func (s *Server) StartedCupsd() bool { return s.cmd != nil }

func (s *Server) running(ctx context.Context) bool {
	out, err := run(ctx, "lpstat", "-r")
	return err == nil && strings.Contains(out, "scheduler is running") && !strings.Contains(out, "not running")
}

func (s *Server) startCupsd(ctx context.Context) error {
	path, err := lookPath("cupsd")
	if err != nil {
		return err
	}
	s.output = &syncBuffer{}
	s.cmd = exec.Command(path, "-f")
	s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
	if err := s.cmd.Start(); err != nil {
		s.cmd = nil
		return fmt.Errorf("cupstest: starting cupsd: %w", err)
	}
	s.exited = make(chan struct{})
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !s.running(ctx) {
		select {
		case <-s.exited:
			s.cmd = nil
			return fmt.Errorf("cupstest: cupsd exited at start: %s", s.output.String())
		case <-ctx.Done():
			s.Close()
			return fmt.Errorf("cupstest: waiting for cupsd: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Close()
			return fmt.Errorf("cupstest: cupsd not running after 20 s (lpstat -r): %s", s.output.String())
		}
	}
	return nil
}

// waitListening waits until the IPP port takes connections.
func (s *Server) waitListening(ctx context.Context) error {
	addr := net.JoinHostPort(s.Host, fmt.Sprint(s.Port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
		if err == nil {
			return conn.Close()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("cupstest: cupsd does not listen on %s: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// OutputDir returns the directory where cups-pdf, configured by conf,
// writes the jobs of userName: the Out directory for a local user, the
// AnonDirName directory for anyone else.
func OutputDir(conf, userName string) (string, error) {
	f, err := os.Open(conf)
	if err != nil {
		return "", fmt.Errorf("cupstest: cups-pdf configuration: %w (install with: %s)", err, InstallHint)
	}
	defer f.Close()
	settings := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, _ := strings.Cut(line, " ")
		settings[key] = strings.TrimSpace(value)
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("cupstest: reading %s: %w", conf, err)
	}
	u, err := user.Lookup(userName)
	if err != nil {
		if dir := settings["AnonDirName"]; dir != "" {
			return dir, nil
		}
		return defaultAnonDir, nil
	}
	out := settings["Out"]
	if out == "" {
		out = "/var/spool/cups-pdf/${USER}"
	}
	out = strings.ReplaceAll(out, "${HOME}", u.HomeDir)
	out = strings.ReplaceAll(out, "${USER}", u.Username)
	return out, nil
}

// checkInstalled fails with the install command when a tool or file of
// Packages is missing.
func checkInstalled() error {
	var missing []string
	for _, tool := range []string{"cupsd", "lpadmin", "lpstat", "cupsenable", "cupsdisable", "cupsaccept", "cupsreject", "cancel", "pdftotext"} {
		if _, err := lookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	for _, file := range []string{ppdFile, backendFile, cupsPDFConf} {
		if _, err := os.Stat(file); err != nil {
			missing = append(missing, file)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("cupstest: missing %s: install with: %s", strings.Join(missing, ", "), InstallHint)
	}
	return nil
}

// lookPath finds a tool on PATH or in the sbin directories, which a test's
// PATH may lack.
func lookPath(tool string) (string, error) {
	if p, err := exec.LookPath(tool); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
		p := filepath.Join(dir, tool)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("cupstest: %s not found: install with: %s", tool, InstallHint)
}

// run runs a CUPS command-line tool and returns its combined output.
func run(ctx context.Context, tool string, args ...string) (string, error) {
	path, err := lookPath(tool)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", tool, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// syncBuffer is a bytes.Buffer for a child's output, safe to read while the
// child writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
