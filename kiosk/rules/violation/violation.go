// Package violation is how the issuance rules say no.
//
// A refusal is a *Violation: the ID of the rule in shared/DOMAIN.md that was
// broken (e.g. "RC-5"), a message key, and the facts that broke it. The UI
// shows Message("sv") or Message("en") as is; Error() is the English text,
// prefixed with the rule ID, for logs and wrapping. A check that can break
// several rules at once returns Violations, which is itself an error and
// unwraps to every *Violation, so errors.As finds them through %w wrapping.
//
// Facts never hold personal numbers, names or PINs: they are shown in the UI
// and may reach logs through Error(). Callers put masked values in them.
package violation

import (
	"errors"
	"maps"
	"slices"
	"strings"
)

// Violation is one broken rule. It is safe to log: its facts carry no
// personal data.
type Violation struct {
	// Rule is the rule ID from DOMAIN.md, e.g. "RC-5".
	Rule string `json:"rule"`
	// Key selects the message text; see the Key constants.
	Key Key `json:"key"`
	// Facts are the values that broke the rule, substituted into the
	// message where the text names them as {name}.
	Facts map[string]string `json:"facts,omitempty"`
}

// New returns a violation of rule with message key and facts given as
// name, value pairs. A trailing odd name is ignored.
func New(rule string, key Key, kv ...string) *Violation {
	v := &Violation{Rule: rule, Key: key}
	if len(kv) >= 2 {
		v.Facts = make(map[string]string, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			v.Facts[kv[i]] = kv[i+1]
		}
	}
	return v
}

// Error returns the English message prefixed with the rule ID.
func (v *Violation) Error() string {
	return v.Rule + ": " + v.Message("en")
}

// Message returns the text in lang ("sv" or "en"; anything else gets
// English) with the facts substituted.
func (v *Violation) Message(lang string) string {
	return Render(v.Key, lang, v.Facts)
}

// Is reports whether target is a *Violation of the same rule and key, so
// errors.Is(err, violation.New("RC-5", violation.KeyExtensionTooLate))
// works without comparing facts.
func (v *Violation) Is(target error) bool {
	t, ok := target.(*Violation)
	if !ok || t == nil {
		return false
	}
	return t.Rule == v.Rule && (t.Key == "" || t.Key == v.Key)
}

// Violations is every rule one check broke, in the order they were found.
// A nil or empty Violations is not an error: use Err to return it.
type Violations []*Violation

// Error joins the English messages of all violations.
func (vs Violations) Error() string {
	parts := make([]string, 0, len(vs))
	for _, v := range vs {
		parts = append(parts, v.Error())
	}
	return strings.Join(parts, "; ")
}

// Unwrap exposes each violation to errors.Is and errors.As.
func (vs Violations) Unwrap() []error {
	errs := make([]error, 0, len(vs))
	for _, v := range vs {
		errs = append(errs, v)
	}
	return errs
}

// Err returns nil when vs is empty, otherwise vs as an error.
func (vs Violations) Err() error {
	if len(vs) == 0 {
		return nil
	}
	return vs
}

// Rules returns the distinct rule IDs broken, sorted.
func (vs Violations) Rules() []string {
	set := map[string]bool{}
	for _, v := range vs {
		set[v.Rule] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// Has reports whether rule is among the violations.
func (vs Violations) Has(rule string) bool {
	for _, v := range vs {
		if v.Rule == rule {
			return true
		}
	}
	return false
}

// Add appends v unless it is nil.
func (vs *Violations) Add(v *Violation) {
	if v != nil {
		*vs = append(*vs, v)
	}
}

// AddErr appends every violation found in err (a *Violation, a Violations
// or anything wrapping them). It reports false, adding nothing, when err is
// non-nil but holds no violation, so the caller can handle it otherwise.
func (vs *Violations) AddErr(err error) bool {
	if err == nil {
		return true
	}
	found := All(err)
	*vs = append(*vs, found...)
	return len(found) > 0
}

// All returns every *Violation in err's tree, depth first.
func All(err error) Violations {
	var out Violations
	var walk func(error)
	walk = func(e error) {
		switch x := e.(type) {
		case nil:
			return
		case *Violation:
			out = append(out, x)
			return
		case Violations:
			out = append(out, x...)
			return
		case interface{ Unwrap() []error }:
			for _, c := range x.Unwrap() {
				walk(c)
			}
		default:
			walk(errors.Unwrap(e))
		}
	}
	walk(err)
	return out
}

// HasRule reports whether err holds a violation of rule anywhere in its tree.
func HasRule(err error, rule string) bool {
	return All(err).Has(rule)
}
