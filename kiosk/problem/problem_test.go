package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

func TestViolationsBecomeOneProblem(t *testing.T) {
	err := fmt.Errorf("decide: %w", errors.Join(
		violation.New("ID-5", violation.KeyPNRLuhn),
		violation.New("RC-1", violation.KeyReasonNotInTable, "reason", "x")))
	var p *Problem
	if !errors.As(Of(err), &p) {
		t.Fatalf("Of(%v) is not a *Problem", err)
	}
	if len(p.Messages) != 2 || p.Rule() != "ID-5" || p.Messages[1].Rule != "RC-1" {
		t.Fatalf("messages = %+v, want ID-5 then RC-1", p.Messages)
	}
	for _, m := range p.Messages {
		if m.Text["sv"] == "" || m.Text["en"] == "" || m.Text["sv"] == m.Text["en"] {
			t.Errorf("%s: text %v, want distinct Swedish and English", m.Rule, m.Text)
		}
	}
	plain := errors.New("disk on fire")
	if got := Of(plain); got != plain {
		t.Errorf("Of(plain) = %v, want it unchanged", got)
	}
}

func TestWireFormatRoundTrips(t *testing.T) {
	p := Refuse(New("a", "A sv", "A en").WithRule("RE-1"), New("b", "B sv", "B en"))
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var w struct {
		Key, Rule string
		Text      map[string]string
	}
	json.Unmarshal(b, &w)
	if w.Key != "a" || w.Rule != "RE-1" || w.Text["sv"] != "A sv B sv" {
		t.Errorf("wire = %s", b)
	}
	var back Problem
	if err := json.Unmarshal(b, &back); err != nil || len(back.Messages) != 2 || back.Messages[1].Key != "b" {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}

// TestNoRawStatesOnScreen: a refusal's text names a card's state, type,
// a reason or a role in words, never as the stored value, and carries no
// rule ID (that stays in Rule, for the audit log); a transition refusal
// says what to do next.
func TestNoRawStatesOnScreen(t *testing.T) {
	raw := regexp.MustCompile(`\b[a-z]+_[a-z_]+\b`)
	placeholder := regexp.MustCompile(`\{\w+\}`) // a fact the test did not give
	facts := []string{"from", "handed_out", "to", "in_stock", "state", "blocked", "type", "short_term", "want", "reserve",
		"reason", "waiting_for_new_card", "original", "temporary_assignment", "role", "id_administrator"}
	for _, k := range violation.Keys() {
		p := Of(violation.New("RC-5", k, facts...)).(*Problem)
		for _, lang := range []string{"sv", "en"} {
			s := placeholder.ReplaceAllString(p.Text(lang), "")
			if raw.MatchString(s) {
				t.Errorf("%s in %s shows a stored value: %q", k, lang, s)
			}
			if strings.Contains(s, "RC-5") {
				t.Errorf("%s in %s shows the rule ID: %q", k, lang, s)
			}
		}
		if p.Rule() != "RC-5" {
			t.Errorf("%s: rule %q, want it kept for the audit log", k, p.Rule())
		}
	}
	p := Of(violation.New("RC-5", violation.KeyTransition, "from", "handed_out", "to", "handed_out")).(*Problem)
	if got, want := p.Text("sv"), "Ett kort kan inte gå från utlämnat till utlämnat. Kontrollera att det är rätt kort"; !strings.HasPrefix(got, want) {
		t.Errorf("sv = %q, want it to start %q", got, want)
	}
}

// TestUnknownFactsInWords: a fact the rules did not know is said in
// words, never as a literal "(?)" (RC-4's station, RC-5's dates).
func TestUnknownFactsInWords(t *testing.T) {
	p := Of(violation.New("RC-4", violation.KeyAlreadyHasReserve, "card_number", "123", "station", "?")).(*Problem)
	if got := p.Text("sv"); strings.Contains(got, "?") || !strings.Contains(got, "(okänd station)") {
		t.Errorf("sv = %q, want the unknown station in words", got)
	}
	p = Of(violation.New("RC-5", violation.KeyExtensionTooLate, "issued", "?", "deadline", "?")).(*Problem)
	if got := p.Text("en"); strings.Contains(got, "?") {
		t.Errorf("en = %q, want no literal ?", got)
	}
}
