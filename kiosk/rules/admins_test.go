package rules

import (
	"slices"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/ident"
)

func TestCheckOperator(t *testing.T) {
	p := cast(t)
	admins := []ident.HSAID{p.operator.HSAID}
	if v := CheckOperator(p.operator, admins); v != nil {
		t.Errorf("AD-1/authorised: %v", v)
	}
	if v := CheckOperator(p.operator, nil); v == nil || v.Rule != "AD-1" {
		t.Errorf("AD-1/empty list: %v", v)
	}
	if v := CheckOperator(Operator{Person: Person{PersonalNumber: p.operator.PersonalNumber}}, admins); v == nil || v.Rule != "AD-1" {
		t.Errorf("AD-1/no HSA-ID: %v", v)
	}
}

func TestPlanAdminChange(t *testing.T) {
	p := cast(t)
	appoint := AdminChange{Kind: AdminAppointed, Admin: hsa(t, "NEW1"), Name: "Nina Ny", Email: "nina@example.se", Phone: "010-1",
		Manager: p.manager.HSAID, TrainingConfirmed: true, At: at(2024, 6, 3, 9, 0)}
	tests := []struct {
		name       string
		change     func(*AdminChange)
		admins     []ident.HSAID
		want       []string
		authorised bool
	}{
		{"AD-2/appointment goes to the central service", nil, nil, nil, false},
		{"AD-1/authorised once on the registry's list", nil, []ident.HSAID{hsa(t, "NEW1")}, nil, true},
		{"AD-1/appointee not in the HSA catalogue", func(c *AdminChange) { c.Admin = ident.HSAID{} }, nil, []string{"AD-1"}, false},
		{"AD-1/no manager", func(c *AdminChange) { c.Manager = ident.HSAID{} }, nil, []string{"AD-1"}, false},
		{"AD-1/appointing oneself", func(c *AdminChange) { c.Manager = c.Admin }, nil, []string{"AD-1"}, false},
		{"AD-1/training not vouched for", func(c *AdminChange) { c.TrainingConfirmed = false }, nil, []string{"AD-1"}, false},
		{"AD-2/no e-mail", func(c *AdminChange) { c.Email = "" }, nil, []string{"AD-2"}, false},
		{"AD-2/unknown change", func(c *AdminChange) { c.Kind = "promoted" }, nil, []string{"AD-2"}, false},
		{"AD-2/removal", func(c *AdminChange) { c.Kind = AdminRemoved; c.Email = "" }, nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := appoint
			if tt.change != nil {
				tt.change(&c)
			}
			d, err := PlanAdminChange(c, tt.admins)
			wantRules(t, err, tt.want...)
			if !d.SendToCentral || d.AuthorisedNow != tt.authorised || d.RevokeLocally != (c.Kind == AdminRemoved) {
				t.Errorf("decision %+v", d)
			}
		})
	}
	added, removed := DiffAdmins([]ident.HSAID{hsa(t, "A"), hsa(t, "B")}, []ident.HSAID{hsa(t, "B"), hsa(t, "C")})
	if !slices.Equal(added, []ident.HSAID{hsa(t, "C")}) || !slices.Equal(removed, []ident.HSAID{hsa(t, "A")}) {
		t.Errorf("AD-2/DiffAdmins = %v, %v", added, removed)
	}
}

func TestCheckDrawerOpening(t *testing.T) {
	p := cast(t)
	admins := []ident.HSAID{p.operator.HSAID}
	sessions := []Session{
		{Operator: p.operator.HSAID, Start: at(2024, 6, 3, 8, 0), End: at(2024, 6, 3, 9, 0)},
		{Operator: p.manager.HSAID, Start: at(2024, 6, 3, 10, 0)},
		{Operator: p.operator.HSAID, Start: at(2024, 6, 3, 12, 0)},
	}
	tests := []struct {
		name  string
		at    time.Time
		alarm bool
	}{
		{"RC-7/before any session", at(2024, 6, 3, 7, 59), true},
		{"RC-7/at the login", at(2024, 6, 3, 8, 0), false},
		{"RC-7/last minute of the session", at(2024, 6, 3, 8, 59), false},
		{"RC-7/at the logout", at(2024, 6, 3, 9, 0), true},
		{"RC-7/in the session of someone not authorised", at(2024, 6, 3, 11, 0), true},
		{"RC-7/in an open session", at(2024, 6, 3, 13, 0), false},
	}
	for _, tt := range tests {
		v := CheckDrawerOpening(tt.at, sessions, admins)
		if (v != nil) != tt.alarm || (v != nil && v.Rule != "RC-7") {
			t.Errorf("%s: %v, want alarm %v", tt.name, v, tt.alarm)
		}
	}
}
