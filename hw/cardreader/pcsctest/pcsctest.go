// Package pcsctest starts a real pcscd with the vsmartcard vpcd reader
// driver for integration tests, so that virtual cards (package vcard) can
// be inserted into real PC/SC readers.
//
// Each Daemon is private: its own reader.conf directory with its own vpcd
// TCP ports and, when the kernel allows it (root with CAP_SYS_ADMIN, the
// usual case), its own /run/pcscd bound in a private mount namespace, so it
// neither disturbs nor depends on a system pcscd. Clients find it through
// the PCSCLITE_CSOCK_NAME environment variable (see SocketPath). Where mount
// namespaces are not allowed (an unprivileged container) it falls back to
// the shared /run/pcscd, and then fails if another pcscd is running there.
//
// Start fails (never skips) with the apt-get command to run when pcscd or
// the vpcd driver is missing.
package pcsctest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// InstallHint is the command that installs what the tests need.
const InstallHint = "apt-get install -y pcscd libpcsclite-dev vsmartcard-vpcd pcsc-tools pkg-config"

// SharedRunDir is pcscd's compiled-in runtime directory.
const SharedRunDir = "/run/pcscd"

// vpcdDriverPaths are where distributions install the vpcd driver.
var vpcdDriverPaths = []string{
	"/usr/lib/pcsc/drivers/serial/libifdvpcd.so",
	"/usr/lib64/pcsc/drivers/serial/libifdvpcd.so",
	"/usr/local/lib/pcsc/drivers/serial/libifdvpcd.so",
}

// readyTimeout bounds the wait for pcscd's socket.
const readyTimeout = 10 * time.Second

// Daemon is a running pcscd with one vpcd driver (two readers).
type Daemon struct {
	pcscd   string // path of the pcscd binary
	dir     string // temporary root
	confDir string
	runDir  string // where pcscd.comm lives, as seen by clients
	logPath string
	port    int // vpcd port of reader 0; reader 1 is port+1
	private bool

	mu  sync.Mutex
	cmd *exec.Cmd
	end chan struct{} // closed when cmd has exited
}

// Start checks that pcscd and vpcd are installed and starts a pcscd. The
// caller must Stop it. Clients in this process must use SocketPath (set
// PCSCLITE_CSOCK_NAME to it before the first PC/SC call).
func Start() (*Daemon, error) {
	pcscd, err := findPCSCD()
	if err != nil {
		return nil, err
	}
	driver := ""
	for _, p := range vpcdDriverPaths {
		if _, err := os.Stat(p); err == nil {
			driver = p
			break
		}
	}
	if driver == "" {
		return nil, fmt.Errorf("pcsctest: vpcd driver not found (looked at %s): install it with: %s",
			strings.Join(vpcdDriverPaths, ", "), InstallHint)
	}
	dir, err := os.MkdirTemp("", "kortstation-pcscd-")
	if err != nil {
		return nil, fmt.Errorf("pcsctest: %w", err)
	}
	d := &Daemon{
		pcscd:   pcscd,
		dir:     dir,
		confDir: filepath.Join(dir, "reader.conf.d"),
		runDir:  filepath.Join(dir, "run"),
		logPath: filepath.Join(dir, "pcscd.log"),
	}
	fail := func(err error) (*Daemon, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	for _, p := range []string{d.confDir, d.runDir} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fail(fmt.Errorf("pcsctest: %w", err))
		}
	}
	if d.port, err = freePortPair(); err != nil {
		return fail(err)
	}
	conf := fmt.Sprintf("FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME   /dev/null:0x%04X\nLIBPATH      %s\nCHANNELID    0x%04X\n",
		d.port, driver, d.port)
	if err := os.WriteFile(filepath.Join(d.confDir, "vpcd"), []byte(conf), 0o644); err != nil {
		return fail(fmt.Errorf("pcsctest: %w", err))
	}

	// Private /run/pcscd first; the shared one if namespaces are refused.
	d.private = true
	privErr := d.start()
	if privErr == nil {
		return d, nil
	}
	d.private = false
	d.runDir = SharedRunDir
	if err := d.start(); err != nil {
		return fail(fmt.Errorf("%w (a private pcscd failed too: %v)", err, privErr))
	}
	return d, nil
}

func findPCSCD() (string, error) {
	if p, err := exec.LookPath("pcscd"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/pcscd", "/usr/local/sbin/pcscd", "/sbin/pcscd"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("pcsctest: pcscd not found: install it with: %s", InstallHint)
}

// freePortPair finds a port p such that p and p+1 are free on all
// addresses (vpcd listens on both, one per reader).
func freePortPair() (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", ":0")
		if err != nil {
			return 0, fmt.Errorf("pcsctest: find a free port: %w", err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", ":"+strconv.Itoa(p+1))
		l.Close()
		if err != nil || p+1 > 0xFFFF {
			continue
		}
		l2.Close()
		return p, nil
	}
	return 0, errors.New("pcsctest: found no two consecutive free TCP ports for vpcd")
}

// SocketPath is pcscd's socket, for PCSCLITE_CSOCK_NAME.
func (d *Daemon) SocketPath() string { return filepath.Join(d.runDir, "pcscd.comm") }

// Private reports whether the daemon has its own /run/pcscd.
func (d *Daemon) Private() bool { return d.private }

// ReaderNames are the PC/SC names of the daemon's two vpcd readers.
func (d *Daemon) ReaderNames() []string {
	return []string{"Virtual PCD 00 00", "Virtual PCD 00 01"}
}

// CardAddr is the address a virtual card dials to be inserted into reader
// i (0 or 1).
func (d *Daemon) CardAddr(i int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(d.port+i))
}

// Log returns the end of pcscd's output, for failure messages.
func (d *Daemon) Log() string {
	b, _ := os.ReadFile(d.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// start launches pcscd and waits for its socket.
func (d *Daemon) start() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.private {
		// Leftovers of a killed run in our own directory.
		removeSocketFiles(d.runDir)
	} else if err := prepareShared(); err != nil {
		return err
	}
	logf, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pcsctest: %w", err)
	}
	defer logf.Close()

	var cmd *exec.Cmd
	if d.private {
		// unshare execs sh, which execs pcscd: the child's PID is pcscd's.
		cmd = exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
			`mkdir -p /run/pcscd && mount --bind "$0" /run/pcscd && exec "$1" --foreground --config "$2"`,
			d.runDir, d.pcscd, d.confDir)
	} else {
		cmd = exec.Command(d.pcscd, "--foreground", "--config", d.confDir)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Do not outlive the test binary if it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pcsctest: start pcscd: %w (install with: %s)", err, InstallHint)
	}
	end := make(chan struct{})
	go func() {
		cmd.Wait()
		close(end)
	}()
	d.cmd, d.end = cmd, end

	deadline := time.After(readyTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(d.SocketPath()); err == nil {
			return nil
		}
		select {
		case <-end:
			d.cmd = nil
			return fmt.Errorf("pcsctest: pcscd exited at start (%v); its output:\n%s\n(install with: %s)",
				cmd.ProcessState, d.Log(), InstallHint)
		case <-deadline:
			d.stopLocked()
			return fmt.Errorf("pcsctest: pcscd did not create %s within %v; its output:\n%s",
				d.SocketPath(), readyTimeout, d.Log())
		case <-tick.C:
		}
	}
}

// prepareShared checks that no other pcscd uses /run/pcscd and removes a
// dead one's files.
func prepareShared() error {
	if b, err := os.ReadFile(filepath.Join(SharedRunDir, "pcscd.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			if syscall.Kill(pid, 0) == nil {
				return fmt.Errorf("pcsctest: another pcscd (pid %d) is running on %s; stop it first "+
					"(systemctl stop pcscd.socket pcscd.service)", pid, SharedRunDir)
			}
		}
	}
	if err := os.MkdirAll(SharedRunDir, 0o755); err != nil {
		return fmt.Errorf("pcsctest: %w", err)
	}
	removeSocketFiles(SharedRunDir)
	return nil
}

func removeSocketFiles(dir string) {
	os.Remove(filepath.Join(dir, "pcscd.comm"))
	os.Remove(filepath.Join(dir, "pcscd.pid"))
}

// Start starts pcscd again after Stop, with the same readers, ports and
// socket.
func (d *Daemon) Start() error {
	d.mu.Lock()
	running := d.cmd != nil
	d.mu.Unlock()
	if running {
		return errors.New("pcsctest: pcscd is already running")
	}
	return d.start()
}

// Restart stops pcscd and starts it again with the same readers and
// ports. Cards inserted through vpcd are disconnected by the stop.
func (d *Daemon) Restart() error {
	if err := d.Stop(); err != nil {
		return err
	}
	return d.start()
}

// Stop terminates pcscd (SIGTERM, then SIGKILL after 5 s) and waits for
// it. It keeps the temporary directory for a later start.
func (d *Daemon) Stop() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stopLocked()
}

func (d *Daemon) stopLocked() error {
	if d.cmd == nil {
		return nil
	}
	cmd, end := d.cmd, d.end
	d.cmd = nil
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-end:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-end
	}
	removeSocketFiles(d.runDir)
	return nil
}

// Close stops pcscd and removes the temporary directory.
func (d *Daemon) Close() error {
	err := d.Stop()
	if rmErr := os.RemoveAll(d.dir); err == nil {
		err = rmErr
	}
	return err
}
