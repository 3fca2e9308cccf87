package rules

import (
	"regexp"
	"testing"
)

func TestCheckTransitionLegal(t *testing.T) {
	legal := [][2]CardState{
		{StateInStock, StateHandedOut}, {StateInStock, StateVoided},
		{StateHandedOut, StateApproved}, {StateHandedOut, StateVoided}, {StateHandedOut, StateReturned}, {StateHandedOut, StateBlocked},
		{StateApproved, StateActivated}, {StateApproved, StateReturned}, {StateApproved, StateBlocked}, {StateApproved, StateExpired},
		{StateActivated, StateHandedOut}, {StateActivated, StateReturned}, {StateActivated, StateBlocked}, {StateActivated, StateExpired},
		{StateExpired, StateHandedOut}, {StateExpired, StateReturned}, {StateExpired, StateBlocked}, {StateExpired, StateVoided},
		{StateBlocked, StateReturned}, {StateBlocked, StateVoided},
		{StateReturned, StateBlocked}, {StateReturned, StateVoided},
	}
	isLegal := map[[2]CardState]bool{}
	for _, l := range legal {
		isLegal[l] = true
	}
	ruleID := regexp.MustCompile(`^(ID|AT|RC|RE|CP|BL|AD)-[0-9]$`)
	for _, from := range States() {
		for _, to := range States() {
			v := CheckTransition(from, to)
			if isLegal[[2]CardState{from, to}] != (v == nil) {
				t.Errorf("%s → %s: %v, legal %v", from, to, v, isLegal[[2]CardState{from, to}])
			}
			if v != nil && !ruleID.MatchString(v.Rule) {
				t.Errorf("%s → %s refused with %q, not a rule ID", from, to, v.Rule)
			}
		}
	}
}

func TestCheckTransitionRules(t *testing.T) {
	tests := []struct {
		name     string
		from, to CardState
		rule     string
	}{
		{"RC-8/a voided card stays voided", StateVoided, StateActivated, "RC-8"},
		{"RC-8/no card goes back into stock", StateReturned, StateInStock, "RC-8"},
		{"RC-8/an activated card never goes back into stock", StateActivated, StateInStock, "RC-8"},
		{"RC-8/a returned card is not handed out again", StateReturned, StateHandedOut, "RC-8"},
		{"BL-1/a blocked card is never activated again", StateBlocked, StateActivated, "BL-1"},
		{"BL-1/a card in stock is not blocked", StateInStock, StateBlocked, "BL-1"},
		{"BL-2/an approved card is blocked before it is voided", StateApproved, StateVoided, "BL-2"},
		{"BL-2/an activated card is blocked before it is voided", StateActivated, StateVoided, "BL-2"},
		{"RC-5/an approved card is not handed out again", StateApproved, StateHandedOut, "RC-5"},
		{"RC-5/an expired card comes back only by extension", StateExpired, StateActivated, "RC-5"},
		{"RC-6/a card in stock cannot be returned", StateInStock, StateReturned, "RC-6"},
		{"CP-1/no activation before approval", StateHandedOut, StateActivated, "CP-1"},
		{"CP-1/no approval of a card in stock", StateInStock, StateApproved, "CP-1"},
		{"CP-1/a card in stock does not expire", StateInStock, StateExpired, "CP-1"},
	}
	for _, tt := range tests {
		v := CheckTransition(tt.from, tt.to)
		if v == nil || v.Rule != tt.rule || v.Facts["from"] != string(tt.from) {
			t.Errorf("%s: %v, want %s", tt.name, v, tt.rule)
		}
	}
}

func TestEffectiveState(t *testing.T) {
	c := reserveCard(t)
	if s := c.EffectiveState(at(2024, 6, 12, 23, 59)); s != StateActivated {
		t.Errorf("last minute: %s", s)
	}
	if s := c.EffectiveState(at(2024, 6, 13, 0, 0)); s != StateExpired {
		t.Errorf("RC-1/at 00:00 on issue date + 10: %s, want expired", s)
	}
}

func TestCheckCut(t *testing.T) {
	c := reserveCard(t)
	c.State = StateReturned
	if err := CheckCut(c, at(2024, 6, 5, 0, 0)); err != nil {
		t.Errorf("RC-8/cutting a returned reserve card: %v", err)
	}
	c.Type = CardSIS
	wantRules(t, CheckCut(c, at(2024, 6, 5, 0, 0)), "RC-8")
	c.Type, c.State = CardShortTerm, StateActivated
	wantRules(t, CheckCut(c, at(2024, 6, 5, 0, 0)), "BL-2")
	// An activated card past its validity is expired, and may be cut.
	if err := CheckCut(c, at(2024, 6, 13, 0, 0)); err != nil {
		t.Errorf("RC-8/cutting an expired short-term card: %v", err)
	}
}
