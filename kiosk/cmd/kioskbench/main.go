// Command kioskbench measures a built kioskd from the outside: the time from
// exec to the first answered /healthz (start-to-serving), over several runs,
// and the idle resident memory after start. `make bench` runs it.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kioskbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("kioskbench", flag.ContinueOnError)
	bin := fs.String("bin", "bin/kioskd", "kioskd binary")
	runs := fs.Int("runs", 20, "number of starts")
	idle := fs.Duration("idle", 3*time.Second, "how long to idle before reading RSS")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "kioskbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var starts []time.Duration
	var rss []int
	for i := 0; i < *runs; i++ {
		d, r, err := once(ctx, *bin, filepath.Join(dir, "data"), i == *runs-1, *idle)
		if err != nil {
			return fmt.Errorf("run %d: %w", i, err)
		}
		if i == 0 {
			continue // the first start creates the database; the station's normal start is a warm one
		}
		starts = append(starts, d)
		if r > 0 {
			rss = append(rss, r)
		}
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
	fmt.Printf("start-to-serving over %d warm starts: median %.1f ms, min %.1f ms, max %.1f ms\n",
		len(starts), ms(starts[len(starts)/2]), ms(starts[0]), ms(starts[len(starts)-1]))
	for _, r := range rss {
		fmt.Printf("idle RSS after %s: %.1f MB\n", *idle, float64(r)/1024)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// once starts kioskd, waits for /healthz, optionally idles and reads VmRSS,
// then stops it with SIGTERM.
func once(ctx context.Context, bin, dataDir string, measureRSS bool, idle time.Duration) (time.Duration, int, error) {
	addr, err := freePort()
	if err != nil {
		return 0, 0, err
	}
	cmd := exec.CommandContext(ctx, bin, "-listen", addr, "-data-dir", dataDir, "-log-level", "warn",
		// make run's development settings: simulated hardware, the
		// embedded registry.
		"-simulation=true", "-reader", "sim", "-printer", "sim", "-drawer", "sim", "-registry", "embedded", "-ui-auth", "none", "-require-clock-sync=false")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	client := &http.Client{Timeout: time.Second}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	var took time.Duration
	for {
		if time.Since(t0) > 10*time.Second {
			return 0, 0, errors.New("not serving after 10 s")
		}
		resp, err := client.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				took = time.Since(t0)
				break
			}
		}
		time.Sleep(200 * time.Microsecond)
	}
	rss := 0
	if measureRSS {
		time.Sleep(idle)
		rss, err = vmRSS(cmd.Process.Pid)
		if err != nil {
			return 0, 0, err
		}
	}
	return took, rss, nil
}

func vmRSS(pid int) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, errors.New("no VmRSS")
}
