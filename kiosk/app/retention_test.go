package app

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/devseed"
)

// laterClock is the system clock moved on by off.
type laterClock struct{ off time.Duration }

func (c laterClock) Now() time.Time { return time.Now().Add(c.off) }
func (laterClock) Source() string   { return clock.SourceFixed }

func (w *wsClient) must(typ string, payload any) json.RawMessage {
	w.t.Helper()
	raw, p := w.request(typ, payload)
	if p != nil {
		w.t.Fatalf("%s: %+v", typ, p)
	}
	return raw
}

func (w *wsClient) step(name string, data any) {
	w.t.Helper()
	w.must("flow.step", map[string]any{"step": name, "data": data})
}

// waitFlow polls the session's view until the flow's JSON contains want.
func (w *wsClient) waitFlow(want string) {
	w.t.Helper()
	for range 500 {
		if strings.Contains(string(w.must("session.get", nil)), want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.t.Fatalf("the flow never showed %s", want)
}

// issueAndReturn logs in, issues a reserve card to devseed.Lost and takes
// it back, as the kiosk's screen would.
func issueAndReturn(t *testing.T, w *wsClient) {
	t.Helper()
	const reader0, reader1 = "Simulated Reader 00", "Simulated Reader 01"
	card := devseed.ReserveInStock[0]
	w.must("dev.card.insert", map[string]string{"reader": reader0, "serial": "9752269900000000011"})
	waitState(t, w, "pin")
	w.must("session.pin", map[string]string{"pin": "1234"})
	w.must("flow.start", map[string]string{"kind": "issue"})
	w.step("reason", map[string]string{"reason": "lost"})
	w.step("recipient", map[string]string{"personal_number": devseed.Lost, "name": "Eva Retentionsson"})
	w.step("document", map[string]any{"type": "swedish_passport", "number": "P7654321", "expiry": "2030-01-01", "intact": true})
	w.must("dev.drawer.open", nil)
	w.waitFlow(`"drawer_opened":true`)
	w.step("card", map[string]string{"serial": card})
	w.must("dev.card.insert", map[string]string{"reader": reader1, "serial": card})
	w.waitFlow(`"step":"preview"`)
	w.step("confirm", nil)
	for _, k := range []string{"recipient", "administrator"} {
		w.step("sign", map[string]any{"key": k, "aspect": 3, "strokes": [][]map[string]float64{{{"x": .1, "y": .1}, {"x": .2, "y": .5}, {"x": .3, "y": .2}, {"x": .4, "y": .6}, {"x": .5, "y": .3}}}})
	}
	w.step("complete", nil)
	w.must("dev.drawer.close", nil)
	w.step("close", nil)
	w.must("dev.card.remove", map[string]string{"reader": reader1})
	w.must("flow.start", map[string]string{"kind": "return"})
	w.must("dev.card.insert", map[string]string{"reader": reader1, "serial": card})
	w.waitFlow(`"step":"preview"`)
	w.step("confirm", nil)
	w.step("close", nil)
	w.must("dev.card.remove", map[string]string{"reader": reader1})
}

// personalTraces lists the station's files (everything in the data
// directory but the embedded registry's, which keeps the legal copy) that
// hold one of needles: the database, its WAL and shared memory, and
// anything else, such as a print spool.
func personalTraces(t *testing.T, dir string, needles ...string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path == filepath.Join(dir, "registry") {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				hits = append(hits, filepath.Base(path)+": "+n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// TestRetentionRemovesArchivedPersonalData: once the registry acknowledged
// the records and confirmed it archived the receipt (Ack.archived), and the
// retention period passed, the station removes the recipient's personal
// number, name, ID document number, signature strokes and receipt PDF from
// its database (secure_delete, the WAL folded in): a grep of every station
// file finds none of them. IDs and hashes stay; the audit chain verifies.
func TestRetentionRemovesArchivedPersonalData(t *testing.T) {
	dir := t.TempDir()
	r := startIn(t, dir, "-sync-interval", "1h")
	kc, _, err := r.dial(t, "http://127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	readEnvelope(t, kc)
	w := &wsClient{t: t, c: kc}
	w.waitStatus("the first sync", func(s syncSnapshot) bool { return !s.Sync.LastSuccess.IsZero() })
	issueAndReturn(t, w)
	w.waitStatus("the records at the registry", func(s syncSnapshot) bool {
		if s.Outbox > 0 {
			w.request("sync.now", nil) // refused while a sync runs
			time.Sleep(100 * time.Millisecond)
		}
		return s.Outbox == 0
	})
	kc.Close()
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	digits := strings.ReplaceAll(devseed.Lost, "-", "")
	needles := []string{devseed.Lost, digits, "Eva Retentionsson", "P7654321"}
	if hits := personalTraces(t, dir, needles...); len(hits) == 0 {
		t.Fatal("no personal data stored before retention: the test would prove nothing")
	}
	db := func() *sql.DB {
		d, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "station.db")+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	var archived int
	if err := db().QueryRow(`SELECT count(*) FROM outbox WHERE kind = 'receipt' AND archived_at IS NOT NULL`).Scan(&archived); err != nil || archived != 1 {
		t.Fatalf("receipt events the registry confirmed archived: %d (%v), want 1", archived, err)
	}

	// Within the period nothing goes.
	r = startInClock(t, dir, laterClock{29 * 24 * time.Hour}, "-sync-interval", "1h")
	time.Sleep(300 * time.Millisecond)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if hits := personalTraces(t, dir, digits); len(hits) == 0 {
		t.Fatal("personal data removed before the retention period passed")
	}

	// 31 days on, the station starts and the retention job runs at once.
	r = startInClock(t, dir, laterClock{31 * 24 * time.Hour}, "-sync-interval", "1h")
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := db().QueryRow(`SELECT count(*) FROM audit_log WHERE kind = 'retention.redacted'`).Scan(&n); err == nil && n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retention did not run at start\n%s", r.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if hits := personalTraces(t, dir, needles...); len(hits) > 0 {
		t.Errorf("personal data left on the station after retention: %v", hits)
	}
	var redacted, pdfLen int
	var hash string
	if err := db().QueryRow(`SELECT redacted_at IS NOT NULL, length(pdf), pdf_sha256 FROM receipts`).Scan(&redacted, &pdfLen, &hash); err != nil {
		t.Fatal(err)
	}
	if redacted != 1 || pdfLen != 0 || len(hash) != 64 {
		t.Errorf("receipt after retention: redacted %d, PDF %d bytes, hash %q; want redacted, no PDF, its hash kept", redacted, pdfLen, hash)
	}
	var res string
	if err := db().QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Errorf("integrity_check: %q %v", res, err)
	}
	var out bytes.Buffer
	if err := Main(t.Context(), Env{Args: []string{"-data-dir", dir, "audit", "verify"}, Stdout: &out, Stderr: io.Discard}); err != nil {
		t.Errorf("audit verify after retention: %v", err)
	}
}
