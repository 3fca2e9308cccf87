package crashtest

import (
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/devseed"
	"github.com/kortstation/kortstation/kiosk/store"
)

const (
	operatorCard = "9752269900000000011"
	operatorPIN  = "1234"
	opReader     = "Simulated Reader 00"
	cardReader   = "Simulated Reader 01"
)

// reserveCard is the card the campaign issues (and approves at the
// registry); extendCard an activated reserve card the template station
// handed out five days ago, which it extends and takes back. (The
// reference registry has no activation: a card reaches "activated" only
// on the recipient's side, so the template is seeded with one.)
var reserveCard, extendCard = devseed.ReserveInStock[0], devseed.ReserveInStock[1]

// seedActivated records, at rest, extendCard handed out to Forgot five
// days ago for a forgotten card (10 days, RC-1) and activated.
func seedActivated(t testing.TB, dir string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "station.db")+"?_foreign_keys=on")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	issued := time.Now().AddDate(0, 0, -5).UTC()
	from, until := issued.Format(time.RFC3339), issued.AddDate(0, 0, 10).Format(time.RFC3339)
	pnr := strings.ReplaceAll(devseed.Forgot, "-", "")
	for _, q := range []struct {
		q    string
		args []any
	}{
		{`INSERT INTO operator_sessions (id, operator, card_serial, started_at, ended_at, end_reason) VALUES ('seed', 'SE2321000131-P000000000011', 'x', ?, ?, 'logout')`, []any{from, from}},
		{`INSERT INTO persons (personal_number, name, created_at) VALUES (?, 'Frida Glom', ?)`, []any{pnr, from}},
		{`UPDATE cards SET state = 'activated', holder = (SELECT id FROM persons WHERE personal_number = ?), valid_from = ?, valid_until = ? WHERE serial = ?`, []any{pnr, from, until, extendCard}},
		{`INSERT INTO issuances (id, kind, card_serial, person_id, session_id, reason, valid_from, valid_until, created_at, clock_source)
			VALUES ('seed-issuance', 'reserve', ?, (SELECT id FROM persons WHERE personal_number = ?), 'seed', 'forgotten', ?, ?, ?, 'ntp')`, []any{extendCard, pnr, from, until, from}},
		{`INSERT OR REPLACE INTO ref_card_status (serial, state, receipt_received, updated_at) VALUES (?, 'activated', 1, ?)`, []any{extendCard, from}},
	} {
		if _, err := db.Exec(q.q, q.args...); err != nil {
			t.Fatalf("seed the activated card: %s: %v", q.q, err)
		}
	}
}

// progress is what the driver saw confirmed before the kill: an
// operation counts as completed once its final request was answered.
type progress struct {
	mu        sync.Mutex
	phase     string
	completed []string
}

func (p *progress) at(phase string) {
	p.mu.Lock()
	p.phase = phase
	p.mu.Unlock()
}

func (p *progress) done(op string) {
	p.mu.Lock()
	p.completed = append(p.completed, op)
	p.mu.Unlock()
}

func (p *progress) snapshot() (string, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.phase, append([]string(nil), p.completed...)
}

func sig(key string) map[string]any {
	return map[string]any{"key": key, "aspect": 3, "strokes": [][]map[string]float64{{{"x": .1, "y": .1}, {"x": .2, "y": .5}, {"x": .3, "y": .2}, {"x": .4, "y": .6}, {"x": .5, "y": .3}}}}
}

var document = map[string]any{"type": "swedish_passport", "number": "P1", "expiry": "2030-01-01", "intact": true}

// script is the day the campaign kills the station in: a login, a
// reserve-card issuance, a sync, an extension, a return and a sync to
// the end, each step a request the kiosk's screen would make.
func script(c *client, p *progress) error {
	step := func(name string, data any) error {
		_, err := c.request("flow.step", map[string]any{"step": name, "data": data})
		return err
	}
	req := func(typ string, payload any) error { _, err := c.request(typ, payload); return err }
	waitStep := func(s string) error {
		_, err := c.waitView("step "+s, func(v view) bool { return v.Flow != nil && v.Flow.Step == s })
		return err
	}
	signAll := func() error {
		for _, k := range []string{"recipient", "administrator"} {
			if err := step("sign", sig(k)); err != nil {
				return err
			}
		}
		return nil
	}
	leave := func() error {
		if err := step("close", nil); err != nil {
			return err
		}
		return req("dev.card.remove", map[string]string{"reader": cardReader})
	}
	seq := []struct {
		phase string
		run   func() error
	}{
		{"login", func() error {
			if err := req("dev.card.insert", map[string]string{"reader": opReader, "serial": operatorCard}); err != nil {
				return err
			}
			if _, err := c.waitView("pin", func(v view) bool { return v.State == "pin" }); err != nil {
				return err
			}
			return req("session.pin", map[string]string{"pin": operatorPIN})
		}},
		{"issue", func() error {
			for _, s := range []struct {
				typ     string
				payload any
			}{
				{"flow.start", map[string]string{"kind": "issue"}},
				{"flow.step", map[string]any{"step": "reason", "data": map[string]string{"reason": "lost"}}},
				{"flow.step", map[string]any{"step": "recipient", "data": map[string]string{"personal_number": devseed.Lost, "name": "Eva Ek"}}},
				{"flow.step", map[string]any{"step": "document", "data": document}},
				{"dev.drawer.open", nil},
			} {
				if err := req(s.typ, s.payload); err != nil {
					return err
				}
			}
			if _, err := c.waitView("drawer opened", func(v view) bool { return v.Flow != nil && v.Flow.Data["drawer_opened"] == true }); err != nil {
				return err
			}
			if err := step("card", map[string]string{"serial": reserveCard}); err != nil {
				return err
			}
			if err := req("dev.card.insert", map[string]string{"reader": cardReader, "serial": reserveCard}); err != nil {
				return err
			}
			if err := waitStep("preview"); err != nil {
				return err
			}
			if err := step("confirm", nil); err != nil {
				return err
			}
			if err := signAll(); err != nil {
				return err
			}
			p.at("issue.complete")
			if err := step("complete", nil); err != nil {
				return err
			}
			p.done("issue")
			if err := req("dev.drawer.close", nil); err != nil {
				return err
			}
			return leave()
		}},
		{"sync", func() error { return waitOutboxEmpty(c) }},
		{"approve", func() error { return approve(c) }},
		{"extend", func() error {
			// The registry's approval reaches the station with a pull.
			deadline := time.Now().Add(20 * time.Second)
			for {
				if err := req("flow.start", map[string]string{"kind": "extend"}); err != nil {
					return err
				}
				if err := req("dev.card.insert", map[string]string{"reader": cardReader, "serial": extendCard}); err != nil {
					return err
				}
				v, err := c.waitView("identity or a refusal", func(v view) bool {
					return v.Flow != nil && (v.Flow.Step == "identity" || len(v.Flow.Errors) > 0)
				})
				if err != nil {
					return err
				}
				if v.Flow.Step == "identity" {
					break
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("extension refused: %v", v.Flow.Errors)
				}
				if err := leave(); err != nil {
					return err
				}
				if err := req("sync.now", nil); err != nil {
					var r *refusedError
					if !errors.As(err, &r) {
						return err
					}
				}
				time.Sleep(200 * time.Millisecond)
			}
			if err := step("document", document); err != nil {
				return err
			}
			if err := waitStep("preview"); err != nil {
				return err
			}
			if err := step("confirm", nil); err != nil {
				return err
			}
			if err := signAll(); err != nil {
				return err
			}
			p.at("extend.complete")
			if err := step("complete", nil); err != nil {
				return err
			}
			p.done("extend")
			return leave()
		}},
		{"return", func() error {
			if err := req("flow.start", map[string]string{"kind": "return"}); err != nil {
				return err
			}
			if err := req("dev.card.insert", map[string]string{"reader": cardReader, "serial": extendCard}); err != nil {
				return err
			}
			if err := waitStep("preview"); err != nil {
				return err
			}
			p.at("return.confirm")
			if err := step("confirm", nil); err != nil {
				return err
			}
			p.done("return")
			return leave()
		}},
		{"sync.end", func() error {
			if err := req("sync.now", nil); err != nil {
				return err
			}
			return waitOutboxEmpty(c)
		}},
	}
	for _, s := range seq {
		p.at(s.phase)
		if err := s.run(); err != nil {
			return fmt.Errorf("%s: %w", s.phase, err)
		}
	}
	p.at("finished")
	return nil
}

// waitOutboxEmpty asks for syncs until the registry acknowledged every
// event.
func waitOutboxEmpty(c *client) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := c.status()
		if err != nil {
			return err
		}
		if s.Outbox == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("outbox still holds %d events", s.Outbox)
		}
		if _, err := c.request("sync.now", nil); err != nil {
			var r *refusedError
			if !errors.As(err, &r) {
				return err
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// finding is one thing a check found wrong, by category.
type finding struct {
	category string // lost, half-written, duplicate, inconsistent
	what     string
}

// checkAtRest checks a killed station's files before anything opens them
// again: both databases pass integrity_check, the audit chain verifies,
// every record is whole (issuance, receipt, audit entry, outbox events
// together or not at all), none is there twice, and every operation the
// driver saw confirmed is there.
func checkAtRest(t testing.TB, dir string, completed []string) []finding {
	var out []finding
	add := func(cat, format string, args ...any) { out = append(out, finding{cat, fmt.Sprintf(format, args...)}) }
	st := openDB(t, filepath.Join(dir, "station.db"))
	defer st.Close()
	if err := integrity(st); err != nil {
		add("inconsistent", "station.db: %v", err)
	}
	reg := openDB(t, filepath.Join(dir, "registry", "registry.db"))
	defer reg.Close()
	if err := integrity(reg); err != nil {
		add("inconsistent", "registry.db: %v", err)
	}
	if err := auditVerify(dir); err != nil {
		add("inconsistent", "%v", err)
	}
	kinds := map[string]int{} // issuance kinds of the campaign's cards, by card and kind
	// Not the development seed's made-up history (store.SeedIssuedReserve).
	rows, err := st.Query(`SELECT id, kind, card_serial FROM issuances WHERE id != 'seed-issuance' AND substr(id, 1, ?) != ?`,
		len(store.DevIssuancePrefix), store.DevIssuancePrefix)
	if err != nil {
		t.Fatal(err)
	}
	var ids [][2]string
	for rows.Next() {
		var id, kind, card string
		if err := rows.Scan(&id, &kind, &card); err != nil {
			t.Fatal(err)
		}
		kinds[kind]++
		kinds[card+"/"+kind]++
		ids = append(ids, [2]string{id, kind})
	}
	rows.Close()
	for k, n := range kinds {
		if n > 1 {
			add("duplicate", "%d %s issuances", n, k)
		}
	}
	count := func(q string, args ...any) int {
		var n int
		if err := st.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	event := map[string]string{"reserve": "issuance", "extension": "extension", "return": "return"}
	for _, r := range ids {
		id, kind := r[0], r[1]
		if count(`SELECT count(*) FROM audit_log WHERE subject = ?`, id) != 1 {
			add("half-written", "%s %s without exactly one audit entry", kind, id)
		}
		if count(`SELECT count(*) FROM outbox WHERE kind = ? AND instr(CAST(payload AS TEXT), ?) > 0`, event[kind], id) != 1 {
			add("half-written", "%s %s without exactly one %s event", kind, id, event[kind])
		}
		if kind == "reserve" || kind == "extension" {
			if count(`SELECT count(*) FROM receipts WHERE issuance_id = ?`, id) != 1 {
				add("half-written", "%s %s without exactly one receipt", kind, id)
			}
			if count(`SELECT count(*) FROM outbox WHERE kind = 'receipt' AND instr(CAST(payload AS TEXT), ?) > 0`, id) != 1 {
				add("half-written", "%s %s without exactly one receipt event", kind, id)
			}
		}
	}
	cardState := func(serial string) (string, bool) {
		var state string
		var holder sql.NullInt64
		if err := st.QueryRow(`SELECT state, holder FROM cards WHERE serial = ?`, serial).Scan(&state, &holder); err != nil {
			t.Fatal(err)
		}
		return state, holder.Valid
	}
	switch state, held := cardState(reserveCard); {
	case kinds[reserveCard+"/reserve"] > 0:
		if state != "handed_out" && state != "approved" && state != "activated" || !held {
			add("inconsistent", "issued card %s (holder %v)", state, held)
		}
	case state != "in_stock" || held:
		add("half-written", "card %s with no issuance", state)
	}
	switch state, _ := cardState(extendCard); {
	case kinds[extendCard+"/return"] > 0:
		if state == "handed_out" || state == "activated" || state == "in_stock" {
			add("inconsistent", "card %s after its return", state)
		}
	case state != "activated" && state != "handed_out":
		add("inconsistent", "extended card %s before its return", state)
	}
	if n := count(`SELECT count(*) FROM stock_movements WHERE card_serial = ? AND kind = 'handed_out'`, reserveCard); n != kinds[reserveCard+"/reserve"] {
		add("half-written", "%d hand-out movements for %d issuances", n, kinds[reserveCard+"/reserve"])
	}
	want := map[string]string{"issue": "reserve", "extend": "extension", "return": "return"}
	for _, op := range completed {
		if k, ok := want[op]; ok && kinds[k] == 0 {
			add("lost", "%s confirmed to the screen but not stored", op)
		}
	}
	return out
}

// checkRecovered checks a restarted station: nothing left in flight.
func checkRecovered(t testing.TB, dir string) []finding {
	var out []finding
	st := openDB(t, filepath.Join(dir, "station.db"))
	defer st.Close()
	var open, printing int
	if err := st.QueryRow(`SELECT count(*) FROM operator_sessions WHERE ended_at IS NULL`).Scan(&open); err != nil {
		t.Fatal(err)
	}
	if err := st.QueryRow(`SELECT count(*) FROM receipts WHERE print_state IN ('pending', 'printing')`).Scan(&printing); err != nil {
		t.Fatal(err)
	}
	if open > 0 {
		out = append(out, finding{"inconsistent", fmt.Sprintf("%d sessions still open after restart", open)})
	}
	if printing > 0 {
		out = append(out, finding{"inconsistent", fmt.Sprintf("%d receipts still pending or printing after restart", printing)})
	}
	return out
}

// checkRegistry checks, after a full sync and a clean stop, that the
// registry holds every event of the station exactly once, under the same
// sequence number, and the station's outbox is acknowledged.
func checkRegistry(t testing.TB, dir string) []finding {
	var out []finding
	st := openDB(t, filepath.Join(dir, "station.db"))
	defer st.Close()
	reg := openDB(t, filepath.Join(dir, "registry", "registry.db"))
	defer reg.Close()
	type ev struct {
		seq   int64
		kind  string
		acked bool
	}
	station := map[string]ev{}
	rows, err := st.Query(`SELECT event_id, seq, kind, acked_at IS NOT NULL FROM outbox`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var e ev
		if err := rows.Scan(&id, &e.seq, &e.kind, &e.acked); err != nil {
			t.Fatal(err)
		}
		station[id] = e
	}
	rows.Close()
	seen := map[string]int{}
	rows, err = reg.Query(`SELECT event_id, seq FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			t.Fatal(err)
		}
		e, ok := station[id]
		if !ok {
			out = append(out, finding{"inconsistent", "registry holds event " + id + " the station does not have"})
			continue
		}
		if e.seq != seq {
			out = append(out, finding{"inconsistent", fmt.Sprintf("event %s: seq %d at the registry, %d at the station", id, seq, e.seq)})
		}
		seen[id]++
	}
	rows.Close()
	// An event the station has not had acknowledged is still in its
	// outbox (never deleted before its ack): pending, not lost (one made
	// as the station stopped after the last sync). One the registry
	// acknowledged must be there.
	for id, e := range station {
		switch n := seen[id]; {
		case n == 0 && e.acked:
			out = append(out, finding{"lost", fmt.Sprintf("%s event %s (seq %d) acknowledged but not at the registry", e.kind, id, e.seq)})
		case n > 1:
			out = append(out, finding{"duplicate", fmt.Sprintf("event %s %d times at the registry", id, n)})
		}
	}
	return out
}

// envRuns is how many runs a campaign makes: the environment variable
// name, or def.
func envRuns(t *testing.T, name string, def int) int {
	t.Helper()
	if s := os.Getenv(name); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q", name, s)
		}
		return n
	}
	return def
}

// prepareTemplate starts a station in dir (with extra flags), waits for
// its first sync, stops it and seeds the activated card: the state every
// run of a campaign starts from.
func prepareTemplate(t *testing.T, dir string, extra ...string) {
	t.Helper()
	s := startStation(t, dir, extra...)
	c, err := s.dial()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := c.status()
		if err != nil {
			t.Fatal(err)
		}
		if !st.Sync.LastSuccess.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the template station never synced\n%s", s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.c.Close()
	s.stop()
	seedActivated(t, dir)
}

// killedScript is how far the script got on a station killed under it.
type killedScript struct {
	err       error         // the script's error; nil if it finished before the kill
	took      time.Duration // how long the script ran, if it finished
	phase     string        // where it was killed, or "finished"
	completed []string      // the operations confirmed before the kill
}

// runAndKill runs the script over c and kills s after delay; atKill runs
// right after the kill, before the script's end is awaited. It closes c.
func runAndKill(s *station, c *client, delay time.Duration, atKill func()) killedScript {
	var p progress
	finished := make(chan error, 1)
	began := time.Now()
	var took time.Duration
	go func() {
		err := script(c, &p)
		took = time.Since(began)
		finished <- err
	}()
	time.Sleep(delay)
	s.kill()
	if atKill != nil {
		atKill()
	}
	k := killedScript{err: <-finished, took: took}
	c.c.Close()
	k.phase, k.completed = p.snapshot()
	if k.err == nil {
		k.phase = "finished"
	}
	return k
}

// checkRestarted starts the killed station in dir again (with extra
// flags), lets it sync to the end, stops it and checks what recovery,
// the registry and the files at rest then hold.
func checkRestarted(t *testing.T, dir string, completed []string, extra ...string) []finding {
	t.Helper()
	s := startStation(t, dir, extra...)
	findings := checkRecovered(t, dir)
	c, err := s.dial()
	if err != nil {
		t.Fatal(err)
	}
	if err := waitOutboxEmpty(c); err != nil {
		findings = append(findings, finding{"lost", "sync after restart: " + err.Error()})
	}
	c.c.Close()
	s.stop()
	findings = append(findings, checkRegistry(t, dir)...)
	return append(findings, checkAtRest(t, dir, completed)...)
}

// tally adds up a campaign's runs.
type tally struct {
	completedOps, finished, found int
	byCategory, phases            map[string]int
}

func newTally() *tally {
	return &tally{byCategory: map[string]int{}, phases: map[string]int{}}
}

// killed counts how far a killed script got.
func (s *tally) killed(k killedScript) {
	s.completedOps += len(k.completed)
	s.phases[k.phase]++
	if k.phase == "finished" {
		s.finished++
	}
}

// report counts run i's findings and fails the test with each; how says
// what ended the run ("killed", "power cut").
func (s *tally) report(t *testing.T, i int, how string, delay time.Duration, k killedScript, findings []finding) {
	t.Helper()
	if len(findings) == 0 {
		return
	}
	s.found++
	for _, f := range findings {
		s.byCategory[f.category]++
		t.Errorf("run %d (%s after %v in %s, completed %v): %s: %s", i, how, delay.Round(time.Millisecond), k.phase, k.completed, f.category, f.what)
	}
}

// findingsLine is the tally's findings by category, for the log.
func (s *tally) findingsLine() string {
	return fmt.Sprintf("runs with findings %d, lost %d, half-written %d, duplicates %d, inconsistencies %d",
		s.found, s.byCategory["lost"], s.byCategory["half-written"], s.byCategory["duplicate"], s.byCategory["inconsistent"])
}

// phaseLine is where the runs were killed, for the log.
func (s *tally) phaseLine() string {
	var phases []string
	for ph, n := range s.phases {
		phases = append(phases, fmt.Sprintf("%s=%d", ph, n))
	}
	sort.Strings(phases)
	return strings.Join(phases, " ")
}

// TestCrashCampaignKill9 kills the real kioskd (with its embedded
// registry, in the same process) with SIGKILL at a random instant of the
// script — login, issuance, sync, extension, return, sync — and checks the
// files at rest, the restarted station and, after a sync to the end, the
// registry. The first run is not killed: it measures the script, and the
// kill instants are drawn uniformly over its length.
func TestCrashCampaignKill9(t *testing.T) {
	runs := envRuns(t, "KORT_CRASH_RUNS", 20)
	base := t.TempDir()
	template := filepath.Join(base, "template")
	prepareTemplate(t, template)

	// Calibration: the whole script, not killed.
	calib := filepath.Join(base, "calib")
	copyDir(t, template, calib)
	s := startStation(t, calib)
	c, err := s.dial()
	if err != nil {
		t.Fatal(err)
	}
	var p progress
	began := time.Now()
	if err := script(c, &p); err != nil {
		t.Fatalf("script without a kill: %v\n%s", err, s.logs.String())
	}
	length := time.Since(began)
	c.c.Close()
	s.stop()
	if f := append(checkAtRest(t, calib, []string{"issue", "extend", "return"}), checkRegistry(t, calib)...); len(f) > 0 {
		t.Fatalf("the script without a kill leaves: %+v", f)
	}
	t.Logf("script length %v; %d runs", length.Round(time.Millisecond), runs)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 15))
	sum := newTally()
	restartKills := 0
	for i := range runs {
		dir := filepath.Join(base, fmt.Sprintf("run%03d", i))
		copyDir(t, template, dir)
		s := startStation(t, dir)
		c, err := s.dial()
		if err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(rng.Int64N(int64(length)))
		k := runAndKill(s, c, delay, nil)
		if k.err == nil && k.took < length {
			length = k.took // kill within the script as it runs now
		}
		sum.killed(k)
		findings := checkAtRest(t, dir, k.completed)

		// Every fourth run the restart is killed too, during its start
		// (recovery, the first sync) before it serves.
		if i%4 == 3 {
			startAndKill(t, dir, time.Duration(rng.Int64N(int64(150*time.Millisecond))))
			restartKills++
			findings = append(findings, checkAtRest(t, dir, k.completed)...)
		}

		findings = append(findings, checkRestarted(t, dir, k.completed)...)
		sum.report(t, i, "killed", delay, k, findings)
		os.RemoveAll(dir)
	}
	t.Logf("kill -9 campaign: runs %d, operations confirmed before the kill %d, scripts finished before the kill %d, restarts killed too %d, %s; killed in: %s",
		runs, sum.completedOps, sum.finished, restartKills, sum.findingsLine(), sum.phaseLine())
}
