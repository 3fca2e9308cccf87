package audit_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/clock"
)

// chain builds n linked records as the store would append them.
func chain(t *testing.T, n int) []audit.Record {
	t.Helper()
	clk := &clock.Fixed{T: time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)}
	head := audit.Genesis()
	var out []audit.Record
	for i := 0; i < n; i++ {
		r, err := audit.Next(head, clk, audit.Entry{Kind: "card.state", Actor: "station", Subject: "R-1", Detail: map[string]any{"n": i}})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
		head = audit.Head{Seq: r.Seq, Hash: r.Hash}
		clk.Advance(time.Minute)
	}
	return out
}

func verify(rs []audit.Record, head audit.Head) (audit.Result, error) {
	v := audit.NewVerifier()
	for _, r := range rs {
		if err := v.Next(r, r.At.Format(time.RFC3339Nano)); err != nil {
			return audit.Result{}, err
		}
	}
	return v.End(head)
}

func TestVerifierIntactChain(t *testing.T) {
	rs := chain(t, 3)
	last := rs[len(rs)-1]
	res, err := verify(rs, audit.Head{Seq: last.Seq, Hash: last.Hash})
	if err != nil || res.Entries != 3 || res.Head != last.Hash {
		t.Errorf("got %+v, %v, want 3 entries ending in %s", res, err, last.Hash)
	}
	if res, err := verify(nil, audit.Genesis()); err != nil || res.Entries != 0 {
		t.Errorf("empty chain: got %+v, %v, want 0 entries", res, err)
	}
}

func TestVerifierFindsBreaks(t *testing.T) {
	rs := chain(t, 3)
	last := rs[len(rs)-1]
	head := audit.Head{Seq: last.Seq, Hash: last.Hash}
	altered := append([]audit.Record(nil), rs...)
	altered[1].Detail = `{"n":9}`
	cases := []struct {
		name    string
		rs      []audit.Record
		head    audit.Head
		wantSeq int64
	}{
		{"altered", altered, head, 2},
		{"missing middle", []audit.Record{rs[0], rs[2]}, head, 2},
		{"tail cut off", rs[:2], head, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := verify(c.rs, c.head)
			var be *audit.BreakError
			if !errors.As(err, &be) || be.Seq != c.wantSeq {
				t.Errorf("got %v, want a break at %d", err, c.wantSeq)
			}
		})
	}
}

func TestNextNeedsKindAndActor(t *testing.T) {
	_, err := audit.Next(audit.Genesis(), clock.System{}, audit.Entry{Kind: "k"})
	if err == nil || !strings.Contains(err.Error(), "actor") {
		t.Errorf("got %v, want a refusal naming the actor", err)
	}
}
