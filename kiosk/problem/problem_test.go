package problem

import (
	"encoding/json"
	"errors"
	"fmt"
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
	if w.Key != "a" || w.Rule != "RE-1" || w.Text["sv"] != "RE-1: A sv B sv" {
		t.Errorf("wire = %s", b)
	}
	var back Problem
	if err := json.Unmarshal(b, &back); err != nil || len(back.Messages) != 2 || back.Messages[1].Key != "b" {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}
