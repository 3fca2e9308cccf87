package ident

import (
	"strings"

	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

// HSAID is an identity in the HSA catalogue, e.g.
// "SE2321000131-P000000012345": "SE", the responsible organisation's
// 10-digit organisation number (Luhn-checked), optionally preceded by "16"
// as some catalogues write it, a hyphen, and a local part of letters A–Z
// and digits. The whole ID is at most 31 characters. Parsing is
// case-insensitive and the canonical form is upper case. The zero value
// means "none".
type HSAID struct{ s string }

// MaxHSAIDLen is the longest HSA-ID the catalogue allows.
const MaxHSAIDLen = 31

// ParseHSAID parses and canonicalises an HSA-ID.
func ParseHSAID(s string) (HSAID, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	bad := func(problem string) (HSAID, error) {
		return HSAID{}, violation.New(RuleID, violation.KeyHSAIDFormat, "problem", problem)
	}
	if len(s) > MaxHSAIDLen {
		return bad("length")
	}
	if !strings.HasPrefix(s, "SE") {
		return bad("country")
	}
	org, local, ok := strings.Cut(s[2:], "-")
	if !ok {
		return bad("hyphen")
	}
	if len(org) == 12 && strings.HasPrefix(org, "16") {
		org = org[2:]
	}
	if len(org) != 10 {
		return bad("organisation_number")
	}
	var digits [10]int
	for i := range len(org) {
		c := org[i]
		if c < '0' || c > '9' {
			return bad("organisation_number")
		}
		digits[i] = int(c - '0')
	}
	if Luhn(digits[:9]) != digits[9] {
		return HSAID{}, violation.New(RuleID, violation.KeyHSAIDOrgLuhn)
	}
	if local == "" {
		return bad("local_part")
	}
	for i := range len(local) {
		c := local[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return bad("local_part")
		}
	}
	return HSAID{s: s}, nil
}

// String returns the canonical form ("" for the zero value).
func (h HSAID) String() string { return h.s }

// IsZero reports whether h is the zero value, "no HSA-ID".
func (h HSAID) IsZero() bool { return h.s == "" }

// OrganisationNumber returns the 10-digit organisation number.
func (h HSAID) OrganisationNumber() string {
	org, _, _ := strings.Cut(h.s[min(2, len(h.s)):], "-")
	if len(org) == 12 {
		org = org[2:]
	}
	return org
}

// LocalPart returns the part after the hyphen.
func (h HSAID) LocalPart() string {
	_, local, _ := strings.Cut(h.s, "-")
	return local
}

// MarshalText renders the canonical form; the zero value is "".
func (h HSAID) MarshalText() ([]byte, error) { return []byte(h.s), nil }

// UnmarshalText parses an HSA-ID; "" gives the zero value.
func (h *HSAID) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*h = HSAID{}
		return nil
	}
	v, err := ParseHSAID(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}
