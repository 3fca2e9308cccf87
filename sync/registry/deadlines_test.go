package registry_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/trust/trusttest"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registry/mail"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// Issue 14, items 2 and 3: deadlines that act and notifications that
// arrive, in fake time (clockwork), with a real SMTP server.

const (
	jobOp      = "SE2321000131-P000000012345" // Seed: authorised operator
	attestor1  = "SE2321000131-P000000000021"
	attestor2  = "SE2321000131-P000000000022"
	jobStation = "ST-1"
	jobEvery   = 10 * time.Minute
)

// deadlineFixture is a registry on a fake clock with a station ST-1, the
// Seed's operators and reserve cards RK-1..RK-4 shipped to ST-1.
type deadlineFixture struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	fc   *clockwork.FakeClock
	srv  *registry.Server
	smtp *smtpServer
	jobs *registry.Jobs
	seq  int64
}

func newDeadlineFixture(t *testing.T, start time.Time) *deadlineFixture {
	t.Helper()
	f := &deadlineFixture{t: t, ctx: context.Background(), dir: t.TempDir(), smtp: startSMTP(t)}
	f.open(start)
	if err := f.srv.Seed(f.ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.AddStation(f.ctx, jobStation, ""); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Ship(f.ctx, jobStation, "SHIP-1", "reserve", "RK-1", "RK-2", "RK-3", "RK-4"); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Ship(f.ctx, jobStation, "SHIP-2", "sis", "REG-1"); err != nil {
		t.Fatal(err)
	}
	return f
}

// open opens (or reopens, as after a restart) the registry at now.
func (f *deadlineFixture) open(now time.Time) {
	f.t.Helper()
	f.fc = clockwork.NewFakeClockAt(now)
	srv, err := registry.Open(f.ctx, registrytest.On(f.t, registry.Config{DataDir: f.dir, Logger: registrytest.Logger(f.t), Clock: f.fc,
		Mail: f.smtp.config(), JobEvery: jobEvery, MailEvery: jobEvery}))
	if err != nil {
		f.t.Fatal(err)
	}
	f.srv = srv
	f.t.Cleanup(func() { f.close() })
}

// close stops the jobs and closes the registry (a registry restart's
// first half).
func (f *deadlineFixture) close() {
	if f.jobs != nil {
		if err := f.jobs.Stop(); err != nil {
			f.t.Error(err)
		}
		f.jobs = nil
	}
	if f.srv != nil {
		f.srv.Close()
		f.srv = nil
	}
}

func (f *deadlineFixture) restart(now time.Time) {
	f.t.Helper()
	f.close()
	f.open(now)
}

// push stores payload as the station's next event, made at at.
func (f *deadlineFixture) push(p protocol.Payload, at time.Time) {
	f.t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		f.t.Fatal(err)
	}
	f.seq++
	acks, err := f.srv.Store(f.ctx, jobStation, []protocol.Event{{Seq: f.seq, ID: uuid.NewString(), Kind: p.EventKind(), Payload: b, CreatedAt: at, ClockSource: "ntp"}})
	if err != nil || len(acks) != 1 || acks[0].Result != protocol.AckStored {
		f.t.Fatalf("store %s: %+v, %v", p.EventKind(), acks, err)
	}
	items, err := f.srv.ReviewItems(f.ctx)
	if err != nil || len(items) != 0 {
		f.t.Fatalf("event held for review: %+v, %v", items, err)
	}
}

func (f *deadlineFixture) runs() (deadlines, mail int64) {
	f.t.Helper()
	rs, err := f.srv.JobRuns(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, r := range rs {
		if r.LastError != "" {
			f.t.Errorf("job %s: %s", r.Job, r.LastError)
		}
		switch r.Job {
		case "deadlines":
			deadlines = r.Runs
		case "mail":
			mail = r.Runs
		}
	}
	return deadlines, mail
}

// startJobs starts the schedule and waits for its first runs.
func (f *deadlineFixture) startJobs() {
	f.t.Helper()
	d0, m0 := f.runs()
	j, err := f.srv.StartJobs(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	f.jobs = j
	f.waitRuns(d0, m0, false)
}

// tick lets fake time pass one job interval and waits until both jobs
// ran again.
func (f *deadlineFixture) tick() {
	f.t.Helper()
	d0, m0 := f.runs()
	f.waitRuns(d0, m0, true)
}

func (f *deadlineFixture) waitRuns(d0, m0 int64, advance bool) {
	f.t.Helper()
	until := time.Now().Add(20 * time.Second)
	for time.Now().Before(until) {
		if advance {
			f.fc.Advance(jobEvery)
		}
		for range 50 {
			if d, m := f.runs(); d > d0 && m > m0 {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	f.t.Fatalf("the scheduled jobs did not run (fake time %s)", f.fc.Now())
}

func (f *deadlineFixture) outbox() []registry.OutboxMail {
	f.t.Helper()
	m, err := f.srv.Outbox(f.ctx, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

func (f *deadlineFixture) sender() mail.Sender {
	f.t.Helper()
	s, err := mail.New(f.smtp.config())
	if err != nil || s == nil {
		f.t.Fatalf("sender: %v", err)
	}
	return s
}

// TestRE5ExpiryRemindersArriveOnceAcrossRestart: the scheduled jobs, in
// fake time, e-mail the holder of a reserve card 7 and 3 days before its
// validity ends (RE-5), each reminder exactly once at the real SMTP
// server, also when the registry restarts in between and after.
func TestRE5ExpiryRemindersArriveOnceAcrossRestart(t *testing.T) {
	until := calendar.NewDate(2026, 12, 20).Start()
	issued := calendar.NewDate(2026, 12, 10).At(9, 0)
	f := newDeadlineFixture(t, issued)
	pnr := registry.TestPersonalNumber("19850505", 321)
	if err := f.srv.SetContact(f.ctx, pnr, "holder@region.example", "sv"); err != nil {
		t.Fatal(err)
	}
	f.push(protocol.IssuancePayload{IssuanceID: "iss-1", CardSerial: "RK-1", CardType: "reserve", PersonalNumber: pnr, Reason: "forgotten",
		ValidFrom: issued, ValidUntil: until, Operator: jobOp}, issued)

	f.startJobs()
	f.tick()
	f.tick()
	if n := len(f.smtp.messages()); n != 0 {
		t.Fatalf("RE-5: %d e-mails 10 days before expiry, want none", n)
	}

	// 7 days before: the first reminder.
	f.restart(calendar.NewDate(2026, 12, 13).At(7, 0))
	f.startJobs()
	f.tick()
	f.tick()
	msgs := f.smtp.messages()
	if len(msgs) != 1 {
		t.Fatalf("RE-5: %d e-mails 7 days before expiry, want 1", len(msgs))
	}
	m := msgs[0]
	if len(m.To) != 1 || m.To[0] != "holder@region.example" || m.From != "registry@kortstation.example" {
		t.Errorf("RE-5 reminder: from %q to %v", m.From, m.To)
	}
	if !m.TLS || m.User != smtpUser {
		t.Errorf("RE-5 reminder sent without STARTTLS (%v) or AUTH (%q)", m.TLS, m.User)
	}
	if want := "Påminnelse: reservkort RK-1 slutar snart gälla"; m.Subject != want {
		t.Errorf("RE-5 reminder subject %q, want %q", m.Subject, want)
	}
	if !strings.Contains(m.Body, "Reservkort RK-1 slutar gälla om 7 dagar (2026-12-20 00:00)") || !strings.Contains(m.Body, "Hej!") {
		t.Errorf("RE-5 reminder body not the Swedish 7-day text:\n%s", m.Body)
	}
	if strings.Contains(m.Body, pnr) || strings.Contains(m.Subject, pnr) {
		t.Error("RE-5 reminder carries the personal number")
	}
	if m.Header.Get("Content-Language") != "sv" || m.Header.Get("Message-ID") == "" {
		t.Errorf("RE-5 reminder headers: %v", m.Header)
	}

	// More runs and a restart in the same window: nothing more.
	f.tick()
	f.restart(calendar.NewDate(2026, 12, 14).At(12, 0))
	f.startJobs()
	f.tick()
	f.tick()
	if n := len(f.smtp.messages()); n != 1 {
		t.Fatalf("RE-5: %d e-mails after a restart within the 7-day window, want still 1", n)
	}

	// 3 days before: the second reminder, once, also across a restart.
	f.fc.Advance(calendar.NewDate(2026, 12, 17).At(6, 30).Sub(f.fc.Now()))
	f.tick()
	f.tick()
	msgs = f.smtp.messages()
	if len(msgs) != 2 {
		t.Fatalf("RE-5: %d e-mails 3 days before expiry, want 2", len(msgs))
	}
	if !strings.Contains(msgs[1].Body, "slutar gälla om 3 dagar") || msgs[1].To[0] != "holder@region.example" {
		t.Errorf("RE-5 second reminder: to %v\n%s", msgs[1].To, msgs[1].Body)
	}
	if msgs[0].Header.Get("Message-ID") == msgs[1].Header.Get("Message-ID") {
		t.Error("RE-5: the two reminders share a Message-ID")
	}
	f.restart(calendar.NewDate(2026, 12, 18).At(8, 0))
	f.startJobs()
	f.tick()
	f.tick()
	if n := len(f.smtp.messages()); n != 2 {
		t.Fatalf("RE-5: %d e-mails after a restart within the 3-day window, want still 2", n)
	}
	for _, o := range f.outbox() {
		if o.State != registry.MailSent || o.Attempts != 1 {
			t.Errorf("RE-5 outbox: %s %s state %s after %d attempts, want sent after 1", o.Event, o.CardSerial, o.State, o.Attempts)
		}
	}
}

// TestRE5NotificationsAtIssuanceAndApproval: the station's notification
// requests at issuance reach the recipient and the attestors by e-mail in
// their language; an attestor without a known address is listed as such;
// approval (CP-1) sends "ready to activate" (RE-5). A duplicate push sends
// nothing more.
func TestRE5NotificationsAtIssuanceAndApproval(t *testing.T) {
	now := calendar.NewDate(2026, 11, 30).At(10, 0)
	f := newDeadlineFixture(t, now)
	pnr := registry.TestPersonalNumber("19850505", 321)
	for _, c := range []struct{ who, email, lang string }{
		{pnr, "mottagare@region.example", "sv"},
		{attestor1, "attestor@region.example", "en"},
	} {
		if err := f.srv.SetContact(f.ctx, c.who, c.email, c.lang); err != nil {
			t.Fatal(err)
		}
	}
	f.push(protocol.IssuancePayload{IssuanceID: "iss-1", CardSerial: "RK-1", CardType: "reserve", PersonalNumber: pnr, Reason: "forgotten",
		ValidFrom: now, ValidUntil: now.AddDate(0, 0, 10), Operator: jobOp, Attestors: []string{attestor1, attestor2},
		AttestationGround: "no_valid_document", AttestorProofs: []string{"siths_card", "siths_card"}}, now)
	notes := []protocol.NotificationPayload{
		{Event: "issued", Role: "recipient", IssuanceID: "iss-1", ReceiptID: "r-1", CardSerial: "RK-1", Key: "notify.issued"},
		{Event: "issued", Role: "attestor", HSAID: attestor1, IssuanceID: "iss-1", ReceiptID: "r-1", CardSerial: "RK-1", Key: "notify.issued"},
		{Event: "issued", Role: "attestor", HSAID: attestor2, IssuanceID: "iss-1", ReceiptID: "r-1", CardSerial: "RK-1", Key: "notify.issued"},
	}
	for _, n := range notes {
		f.push(n, now)
	}
	sender := f.sender()
	if r, err := f.srv.DeliverMail(f.ctx, sender); err != nil || r.Sent != 2 {
		t.Fatalf("RE-5 at issuance: %+v, %v; want 2 sent", r, err)
	}
	byTo := map[string]received{}
	for _, m := range f.smtp.messages() {
		byTo[m.To[0]] = m
	}
	if m := byTo["mottagare@region.example"]; m.Subject != "Reservkort RK-1 har lämnats ut" || !strings.Contains(m.Body, "Reservkort RK-1 har lämnats ut. Du får besked när det kan aktiveras.") {
		t.Errorf("RE-5 recipient at issuance: %q\n%s", m.Subject, m.Body)
	}
	if m := byTo["attestor@region.example"]; m.Subject != "Reserve card RK-1 has been issued" || !strings.Contains(m.Body, "Reserve card RK-1 has been issued.") || m.Header.Get("Content-Language") != "en" {
		t.Errorf("RE-5 attestor at issuance (English): %q\n%s", m.Subject, m.Body)
	}
	states := map[string]int{}
	for _, o := range f.outbox() {
		states[o.State]++
	}
	if states[registry.MailSent] != 2 || states[registry.MailNoAddress] != 1 {
		t.Errorf("RE-5 outbox states %v, want 2 sent and 1 without address", states)
	}

	// The same requests again, as new events: nothing new.
	for _, n := range notes {
		f.push(n, now)
	}
	if r, err := f.srv.DeliverMail(f.ctx, sender); err != nil || r.Sent != 0 {
		t.Errorf("RE-5 second delivery: %+v, %v; want nothing", r, err)
	}

	// Approval: ready to activate, to the recipient and the attestors.
	if err := f.srv.Decide(f.ctx, "iss-1", true); err != nil {
		t.Fatal(err)
	}
	if r, err := f.srv.DeliverMail(f.ctx, sender); err != nil || r.Sent != 2 {
		t.Fatalf("RE-5 after approval: %+v, %v; want 2 sent", r, err)
	}
	msgs := f.smtp.messages()
	if len(msgs) != 4 {
		t.Fatalf("RE-5: %d e-mails in all, want 4", len(msgs))
	}
	for _, m := range msgs[2:] {
		switch m.To[0] {
		case "mottagare@region.example":
			if m.Subject != "Reservkort RK-1 kan aktiveras" || !strings.Contains(m.Body, "Reservkortet RK-1 är nu klart att aktiveras") {
				t.Errorf("RE-5 ready to activate (Swedish): %q\n%s", m.Subject, m.Body)
			}
		case "attestor@region.example":
			if m.Subject != "Reserve card RK-1 can be activated" {
				t.Errorf("RE-5 ready to activate (English): %q", m.Subject)
			}
		default:
			t.Errorf("RE-5 ready to activate to %v", m.To)
		}
	}
}

// TestRE5MailRetriedWithBackoff: a relay that answers 451 gets the message
// again after the backoff, not before; it arrives once.
func TestRE5MailRetriedWithBackoff(t *testing.T) {
	now := calendar.NewDate(2026, 11, 30).At(10, 0)
	f := newDeadlineFixture(t, now)
	if err := f.srv.SetContact(f.ctx, attestor1, "attestor@region.example", "sv"); err != nil {
		t.Fatal(err)
	}
	f.push(protocol.IssuancePayload{IssuanceID: "iss-1", CardSerial: "RK-1", CardType: "reserve", Reason: "forgotten", ValidUntil: now.AddDate(0, 0, 10), Operator: jobOp}, now)
	f.push(protocol.NotificationPayload{Event: "issued", Role: "attestor", HSAID: attestor1, IssuanceID: "iss-1", CardSerial: "RK-1", Key: "notify.issued"}, now)
	f.smtp.failNextData(2)
	sender := f.sender()
	if r, err := f.srv.DeliverMail(f.ctx, sender); err != nil || r.Retrying != 1 {
		t.Fatalf("first attempt: %+v, %v; want 1 retrying", r, err)
	}
	o := f.outbox()[0]
	if o.State != registry.MailQueued || o.Attempts != 1 || !strings.Contains(o.LastError, "451") || !o.NextAt.Equal(now.Add(time.Minute)) {
		t.Errorf("after a 451: %+v, want queued, 1 attempt, next in 1 min", o)
	}
	if r, _ := f.srv.DeliverMail(f.ctx, sender); r != (registry.DeliveryResult{}) {
		t.Errorf("attempt before the backoff ended: %+v", r)
	}
	f.fc.Advance(time.Minute)
	if r, _ := f.srv.DeliverMail(f.ctx, sender); r.Retrying != 1 {
		t.Errorf("second attempt: %+v, want retrying", r)
	}
	if o := f.outbox()[0]; !o.NextAt.Equal(now.Add(3 * time.Minute)) {
		t.Errorf("backoff after 2 failures: next %s, want %s (2 min)", o.NextAt, now.Add(3*time.Minute))
	}
	f.fc.Advance(2 * time.Minute)
	if r, _ := f.srv.DeliverMail(f.ctx, sender); r.Sent != 1 {
		t.Errorf("third attempt: %+v, want sent", r)
	}
	if n := len(f.smtp.messages()); n != 1 {
		t.Errorf("%d messages arrived, want 1", n)
	}
}

// TestMailRefusesRelayWithoutTrustedTLS: STARTTLS is required and the
// relay's certificate verified; a relay the registry cannot verify gets no
// message (nor the password).
func TestMailRefusesRelayWithoutTrustedTLS(t *testing.T) {
	s := startSMTP(t)
	cfg := s.config()
	cfg.RootCAs = nil // the system's roots do not know the test CA
	snd, err := mail.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := snd.Send(context.Background(), mail.Message{To: "a@b.example", Subject: "x", Body: "y"}); err == nil || mail.IsPermanent(err) {
		t.Errorf("send to an unverified relay: %v, want a (temporary) TLS error", err)
	}
	if n := len(s.messages()); n != 0 {
		t.Errorf("%d messages reached the unverified relay", n)
	}
	cfg.StartTLS = mail.StartTLSNone
	if _, err := mail.New(cfg); err == nil {
		t.Error("a password without TLS was accepted in the configuration")
	}
	if !strings.Contains(s.config().String(), "[redacted]") || strings.Contains(s.config().String(), smtpPass) {
		t.Errorf("printed configuration shows the password: %s", s.config())
	}
}

// devConsole serves the console in development mode on loopback and
// returns its base URL and a logged-in client with its CSRF token.
func devConsole(t *testing.T, srv *registry.Server) (string, *http.Client, string) {
	t.Helper()
	c, err := srv.NewConsole(context.Background(), registry.ConsoleConfig{Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(c.Handler())
	t.Cleanup(hs.Close)
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Get(hs.URL + "/admin/api/session")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var s struct{ CSRF string }
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return hs.URL, cl, s.CSRF
}

// setLang switches the console's language as its toggle does (?lang=
// sets a cookie and redirects).
func setLang(t *testing.T, cl *http.Client, page, lang string) {
	t.Helper()
	res, err := cl.Get(page + "?lang=" + lang)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET %s?lang=%s: %d, want a redirect", page, lang, res.StatusCode)
	}
}

func getPage(t *testing.T, cl *http.Client, u string) string {
	t.Helper()
	res, err := cl.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, res.StatusCode, b)
	}
	return string(b)
}

// TestRC6UnreturnedReserveCardsAreDeviations: a reserve card past its
// validity, and one whose holder got their regular card, not returned,
// are deviations on the console's follow-up list, once each (RC-6); a case
// officer marks one followed up (audited). A return blocks the card's
// certificates (BL-2), shown on the console, and marks the deviation
// returned late.
func TestRC6UnreturnedReserveCardsAreDeviations(t *testing.T) {
	t0 := calendar.NewDate(2026, 11, 2).At(10, 0)
	f := newDeadlineFixture(t, t0)
	p1 := registry.TestPersonalNumber("19850505", 321)
	p2 := registry.TestPersonalNumber("19700101", 123)
	f.push(protocol.IssuancePayload{IssuanceID: "iss-1", CardSerial: "RK-1", CardType: "reserve", PersonalNumber: p1, Reason: "forgotten",
		ValidFrom: t0, ValidUntil: calendar.NewDate(2026, 11, 12).Start(), Operator: jobOp}, t0)
	f.push(protocol.IssuancePayload{IssuanceID: "iss-2", CardSerial: "RK-2", CardType: "reserve", PersonalNumber: p2, Reason: "waiting_for_new_card",
		ValidFrom: t0, ValidUntil: calendar.NewDate(2026, 12, 2).Start(), Operator: jobOp}, t0)
	// Day 5: the second holder picks up their regular card.
	f.fc.Advance(5 * 24 * time.Hour)
	f.push(protocol.IssuancePayload{IssuanceID: "iss-3", CardSerial: "REG-1", CardType: "sis", PersonalNumber: p2, Operator: jobOp}, f.fc.Now())
	r, err := f.srv.RunDeadlines(f.ctx)
	if err != nil || r.Deviations != 1 {
		t.Fatalf("RC-6 on day 5: %+v, %v; want 1 deviation (regular card at hand)", r, err)
	}
	// Day 11: the first card's validity has ended too.
	f.fc.Advance(6 * 24 * time.Hour)
	if r, err := f.srv.RunDeadlines(f.ctx); err != nil || r.Deviations != 1 {
		t.Fatalf("RC-6 on day 11: %+v, %v; want 1 new deviation (validity ended)", r, err)
	}
	if r, err := f.srv.RunDeadlines(f.ctx); err != nil || r.Deviations != 0 {
		t.Fatalf("RC-6 rerun: %+v, %v; want nothing new", r, err)
	}
	devs, err := f.srv.Deviations(f.ctx)
	if err != nil || len(devs) != 2 {
		t.Fatalf("RC-6 deviations: %+v, %v; want 2", devs, err)
	}
	keys := map[string]string{}
	for _, d := range devs {
		keys[d.CardSerial] = d.Key
		if d.Rule != "RC-6" || d.Station != jobStation {
			t.Errorf("deviation %+v", d)
		}
	}
	if keys["RK-1"] != "deviation.expired" || keys["RK-2"] != "deviation.regular_at_hand" {
		t.Errorf("RC-6 deviation kinds %v", keys)
	}

	base, cl, tok := devConsole(t, f.srv)
	page := getPage(t, cl, base+"/admin/deadlines")
	for _, want := range []string{"Avvikelser och frister", "Reservkort RK-1 har inte lämnats tillbaka fast giltighetstiden gått ut.",
		"Reservkort RK-2 har inte lämnats tillbaka fast det ordinarie kortet finns.", "Markera uppföljd"} {
		if !strings.Contains(page, want) {
			t.Errorf("RC-6: the console page lacks %q", want)
		}
	}
	if strings.Contains(page, p1) || strings.Contains(page, p2) {
		t.Error("the console page shows a personal number")
	}
	setLang(t, cl, base+"/admin/deadlines", "en")
	if en := getPage(t, cl, base+"/admin/deadlines"); !strings.Contains(en, "Deviations and deadlines") || !strings.Contains(en, "Reserve card RK-1") {
		t.Error("RC-6: the English page is not English")
	}
	setLang(t, cl, base+"/admin/deadlines", "sv")
	if admin := getPage(t, cl, base+"/admin"); !strings.Contains(admin, `href="/admin/deadlines"`) {
		t.Error("the console does not link the deadlines page")
	}

	// Followed up by a case officer (development mode acts with every
	// role); a note is required.
	var id int64
	for _, d := range devs {
		if d.CardSerial == "RK-2" {
			id = d.ID
		}
	}
	post := func(form url.Values) int {
		form.Set("csrf", tok)
		res, err := cl.PostForm(base+"/admin/deviation/follow-up", form)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusSeeOther && res.Header.Get("Location") != "/admin/deadlines" {
			t.Errorf("after the follow-up: back to %s, want the deadlines page", res.Header.Get("Location"))
		}
		return res.StatusCode
	}
	if code := post(url.Values{"id": {itoa(id)}}); code != http.StatusBadRequest {
		t.Errorf("follow-up without a note: %d, want 400", code)
	}
	if code := post(url.Values{"id": {itoa(id)}, "reason": {"Ringt chefen; kortet lämnas på måndag."}}); code != http.StatusSeeOther {
		t.Errorf("follow-up: %d, want 303", code)
	}
	devs, _ = f.srv.Deviations(f.ctx)
	for _, d := range devs {
		if d.CardSerial == "RK-2" && (d.FollowedUpAt.IsZero() || d.Note == "") {
			t.Errorf("RC-6 follow-up not recorded: %+v", d)
		}
	}
	recs, err := f.srv.AdminAudit(f.ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	audited := map[string]bool{}
	for _, r := range recs {
		audited[r.Kind] = true
	}
	if !audited["deviation.follow_up"] || !audited["rc6.deviation"] {
		t.Errorf("audit trail lacks the follow-up or the job's deviations: %v", audited)
	}

	// A case officer sets an attestor's address on the page; a personal
	// number is not taken there.
	postTo := func(path string, form url.Values) int {
		form.Set("csrf", tok)
		res, err := cl.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := postTo("/admin/contact", url.Values{"hsa_id": {attestor1}, "email": {"intyg@region.example"}, "lang": {"sv"}}); code != http.StatusSeeOther {
		t.Errorf("set contact: %d, want 303", code)
	}
	if code := postTo("/admin/contact", url.Values{"hsa_id": {p1}, "email": {"x@region.example"}, "lang": {"sv"}}); code != http.StatusBadRequest {
		t.Errorf("set contact by personal number: %d, want 400", code)
	}
	f.push(protocol.NotificationPayload{Event: "issued", Role: "attestor", HSAID: attestor1, IssuanceID: "iss-1", CardSerial: "RK-1", Key: "notify.issued"}, f.fc.Now())
	if o := f.outbox(); len(o) == 0 || o[0].To != "intyg@region.example" || o[0].State != registry.MailQueued {
		t.Errorf("RE-5 to the attestor whose address the console set: %+v", o)
	}

	// The first card comes back late: its certificates are blocked
	// (BL-2) and the deviation says when it came.
	f.fc.Advance(24 * time.Hour)
	f.push(protocol.ReturnPayload{IssuanceID: "ret-1", CardSerial: "RK-1", RefersTo: "iss-1", Operator: jobOp}, f.fc.Now())
	blocks, err := f.srv.CertificateBlocks(f.ctx)
	if err != nil || len(blocks) != 1 || blocks[0].CardSerial != "RK-1" || blocks[0].IssuanceID != "iss-1" || blocks[0].Station != jobStation {
		t.Fatalf("BL-2 on return: %+v, %v", blocks, err)
	}
	devs, _ = f.srv.Deviations(f.ctx)
	for _, d := range devs {
		if d.CardSerial == "RK-1" && d.ReturnedAt.IsZero() {
			t.Error("RC-6: the late return is not on the deviation")
		}
	}
	page = getPage(t, cl, base+"/admin/deadlines")
	if !strings.Contains(page, `<tr class="bl2-block"><td>RK-1</td>`) {
		t.Error("BL-2: the certificate block is not on the console")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestDeviationFollowUpNeedsCaseOfficer: every role sees the deadlines
// page (the view audited); only a case officer marks an RC-6 deviation
// followed up; a viewer's attempt is refused, audited and changes nothing.
func TestDeviationFollowUpNeedsCaseOfficer(t *testing.T) {
	t0 := calendar.NewDate(2026, 11, 2).At(10, 0)
	df := newDeadlineFixture(t, t0)
	df.push(protocol.IssuancePayload{IssuanceID: "iss-1", CardSerial: "RK-1", CardType: "reserve", PersonalNumber: registry.TestPersonalNumber("19850505", 321),
		Reason: "forgotten", ValidFrom: t0, ValidUntil: calendar.NewDate(2026, 11, 12).Start(), Operator: jobOp}, t0)
	df.fc.Advance(11 * 24 * time.Hour)
	if r, err := df.srv.RunDeadlines(df.ctx); err != nil || r.Deviations != 1 {
		t.Fatalf("RC-6: %+v, %v", r, err)
	}
	devs, _ := df.srv.Deviations(df.ctx)
	id := itoa(devs[0].ID)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := trusttest.NewRoot(t, "SITHS e-id Root CA v2", trusttest.ECDSA)
	inter := root.Intermediate("SITHS e-id Person HSA-id 3 CA v1", trusttest.ECDSA)
	if _, err := df.srv.AddIntermediate(ctx, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: inter.Cert.Raw})); err != nil {
		t.Fatal(err)
	}
	if _, err := df.srv.AddCRL(ctx, trusttest.SignCRLDER(t, inter.Cert, inter.Key, df.fc.Now().Add(-time.Hour), df.fc.Now().Add(23*time.Hour))); err != nil {
		t.Fatal(err)
	}
	roles, err := registry.ParseRoles([]byte(viewerID + " viewer\n" + caseID + " case_officer\n"))
	if err != nil {
		t.Fatal(err)
	}
	console, err := df.srv.NewConsole(ctx, registry.ConsoleConfig{Anchors: root.PEM(), Roles: roles, Hosts: []string{"127.0.0.1"}, AllowUnsyncedClock: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- console.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	f := &consoleFixture{t: t, ctx: ctx, srv: df.srv, dir: df.dir, base: "https://" + ln.Addr().String(), pool: df.srv.CA().Pool()}
	as := func(hsa string) *http.Client {
		c, k := inter.Issue(trusttest.Leaf{HSAID: hsa, NotBefore: df.fc.Now().Add(-time.Hour), NotAfter: df.fc.Now().AddDate(1, 0, 0)})
		return f.client(c, k)
	}
	viewer, officer := as(viewerID), as(caseID)
	for who, c := range map[string]*http.Client{viewerID: viewer, caseID: officer} {
		if res, body := f.get(c, "/admin/deadlines"); res.StatusCode != http.StatusOK || !strings.Contains(body, "RK-1") {
			t.Errorf("deadlines page for %s: %d", who, res.StatusCode)
		}
	}
	form := url.Values{"id": {id}, "reason": {"Kortet hämtas av chefen."}}
	if got := f.post(viewer, "/admin/deviation/follow-up", withCSRF(form, f.csrf(viewer)), nil); got != http.StatusForbidden {
		t.Errorf("follow-up by a viewer: %d, want 403", got)
	}
	if devs, _ := df.srv.Deviations(df.ctx); !devs[0].FollowedUpAt.IsZero() {
		t.Fatal("a viewer's refused follow-up changed the deviation")
	}
	if !f.auditHas("deviation.follow_up", viewerID, "refused") {
		t.Error("the viewer's refused follow-up is not audited")
	}
	if got := f.post(officer, "/admin/deviation/follow-up", withCSRF(form, f.csrf(officer)), nil); got != http.StatusOK {
		t.Errorf("follow-up by a case officer: %d, want 200", got)
	}
	if devs, _ := df.srv.Deviations(df.ctx); devs[0].FollowedUpBy != caseID || devs[0].Note != "Kortet hämtas av chefen." {
		t.Errorf("RC-6 follow-up: %+v", devs[0])
	}
	if !f.auditHas("deviation.follow_up", caseID, "ok") || !f.auditHas("console.view", viewerID, "") {
		t.Error("the follow-up or the page view is not audited")
	}
	if got := f.post(officer, "/admin/deviation/follow-up", withCSRF(form, f.csrf(officer)), nil); got != http.StatusNotFound {
		t.Errorf("second follow-up of the same deviation: %d, want 404", got)
	}
}

// TestDeadlineJobsOnceWhenRunTogether: runs of the deadline jobs at the
// same time (two registries' schedules, a manual run beside the
// scheduled one) make each effect once: one RE-2 block, one RC-6
// deviation, one RE-5 reminder.
func TestDeadlineJobsOnceWhenRunTogether(t *testing.T) {
	t0 := calendar.NewDate(2026, 11, 2).At(10, 0)
	f := newDeadlineFixture(t, t0)
	pnr := registry.TestPersonalNumber("19850505", 321)
	if err := f.srv.SetContact(f.ctx, pnr, "holder@region.example", "sv"); err != nil {
		t.Fatal(err)
	}
	f.push(protocol.IssuancePayload{IssuanceID: "iss-1", CardSerial: "RK-1", CardType: "reserve", PersonalNumber: pnr, Reason: "waiting_for_new_card",
		ValidFrom: t0, ValidUntil: calendar.NewDate(2026, 11, 16).Start(), Operator: jobOp}, t0)
	p2 := registry.TestPersonalNumber("19700101", 123)
	if err := f.srv.SetContact(f.ctx, p2, "other@region.example", "sv"); err != nil {
		t.Fatal(err)
	}
	f.push(protocol.IssuancePayload{IssuanceID: "iss-3", CardSerial: "RK-2", CardType: "reserve", PersonalNumber: p2, Reason: "waiting_for_new_card",
		ValidFrom: t0, ValidUntil: calendar.NewDate(2026, 11, 16).Start(), Operator: jobOp}, t0)
	f.push(protocol.ReceiptPayload{ReceiptID: "r-3", IssuanceID: "iss-3", CardSerial: "RK-2"}, t0)
	for _, id := range []string{"iss-1", "iss-3"} {
		if err := f.srv.Decide(f.ctx, id, true); err != nil {
			t.Fatal(err)
		}
	}
	// Day 10: RK-1's receipt is overdue (RE-2) and its holder's regular
	// card, handed out on day 7, makes it a deviation (RC-6); RK-2 (its
	// receipt in) is due its 7-day reminder (RE-5). A blocked card gets
	// no reminder.
	f.fc.Advance(7 * 24 * time.Hour)
	f.push(protocol.IssuancePayload{IssuanceID: "iss-2", CardSerial: "REG-1", CardType: "sis", PersonalNumber: pnr, Operator: jobOp}, f.fc.Now())
	f.fc.Advance(3 * 24 * time.Hour)
	errs := make(chan error, 4)
	for range 4 {
		go func() { _, err := f.srv.RunDeadlines(f.ctx); errs <- err }()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	blocks, _ := f.srv.DeadlineBlocks(f.ctx)
	devs, _ := f.srv.Deviations(f.ctx)
	mails := 0
	for _, o := range f.outbox() {
		if o.Event == "expiry" {
			mails++
		}
	}
	if len(blocks) != 1 || len(devs) != 1 || mails != 1 {
		t.Errorf("after 4 runs at once: %d RE-2 blocks, %d RC-6 deviations, %d RE-5 reminders; want 1 each", len(blocks), len(devs), mails)
	}

	// Both come back: the approved card's certificates are blocked now
	// (BL-2); the RE-2-blocked card's were blocked already.
	f.push(protocol.ReturnPayload{IssuanceID: "ret-1", CardSerial: "RK-1", RefersTo: "iss-1", Operator: jobOp}, f.fc.Now())
	f.push(protocol.ReturnPayload{IssuanceID: "ret-2", CardSerial: "RK-2", RefersTo: "iss-3", Operator: jobOp}, f.fc.Now())
	cb, err := f.srv.CertificateBlocks(f.ctx)
	if err != nil || len(cb) != 1 || cb[0].CardSerial != "RK-2" {
		t.Errorf("BL-2 on return: %+v, %v; want RK-2 only (RK-1 was blocked already)", cb, err)
	}
}
