package violation

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestViolationErrorsAsAcrossWrapping(t *testing.T) {
	vs := Violations{
		New("RC-5", KeyExtensionTooLate, "issued", "2024-01-10", "deadline", "2024-08-10"),
		New("AD-1", KeyOperatorNotAuthorised),
	}
	err := fmt.Errorf("issue reserve card: %w", fmt.Errorf("flow: %w", vs.Err()))

	var v *Violation
	if !errors.As(err, &v) || v.Rule != "RC-5" {
		t.Fatalf("errors.As *Violation = %v", v)
	}
	var got Violations
	if !errors.As(err, &got) || len(got) != 2 {
		t.Fatalf("errors.As Violations = %v", got)
	}
	if !errors.Is(err, New("AD-1", KeyOperatorNotAuthorised)) || !errors.Is(err, &Violation{Rule: "RC-5"}) {
		t.Errorf("errors.Is by rule and key failed")
	}
	if errors.Is(err, New("RC-4", KeyAlreadyHasReserve)) {
		t.Errorf("errors.Is matched an absent rule")
	}
	if all := All(err); !slices.Equal(all.Rules(), []string{"AD-1", "RC-5"}) {
		t.Errorf("All(err).Rules() = %v", all.Rules())
	}
	if !HasRule(err, "AD-1") || HasRule(err, "AD-2") || HasRule(nil, "AD-1") {
		t.Errorf("HasRule")
	}
	if want := "RC-5: An extension must be asked for within 7 months of the issue on 2024-01-10, by 2024-08-10."; !strings.Contains(err.Error(), want) {
		t.Errorf("Error() = %q, want it to contain %q", err.Error(), want)
	}
	if Violations(nil).Err() != nil {
		t.Errorf("empty Violations is an error")
	}
	var acc Violations
	acc.Add(nil)
	if !acc.AddErr(err) || len(acc) != 2 || acc.AddErr(errors.New("io")) {
		t.Errorf("AddErr: %v", acc)
	}
}

func TestMessageLanguages(t *testing.T) {
	v := New("RC-5", KeyExtensionTooLate, "issued", "2024-01-10", "deadline", "2024-08-10")
	if got, want := v.Message("sv"), "Förlängning måste begäras inom 7 månader från utlämningen 2024-01-10, senast 2024-08-10."; got != want {
		t.Errorf("sv: %q, want %q", got, want)
	}
	if got := v.Message("de"); got != v.Message("en") {
		t.Errorf("unknown language %q, want English", got)
	}
	if got := Render("no.such.key", "sv", nil); got != "no.such.key" {
		t.Errorf("unknown key renders %q", got)
	}
	if got := Render(KeyDocExpired, "en", nil); !strings.Contains(got, "{expiry}") {
		t.Errorf("missing fact should stay visible: %q", got)
	}
}

// TestCatalogComplete: every Key constant has Swedish and English text,
// and both name the same facts.
func TestCatalogComplete(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "catalog.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names int
	for _, decl := range f.Decls {
		g, ok := decl.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for _, n := range vs.Names {
				names++
				lit := vs.Values[0].(*ast.BasicLit).Value
				key := Key(strings.Trim(lit, `"`))
				txt, ok := catalog[key]
				if !ok || txt.sv == "" || txt.en == "" {
					t.Errorf("%s (%q) has no text", n.Name, key)
					continue
				}
				if a, b := facts(txt.sv), facts(txt.en); !slices.Equal(a, b) {
					t.Errorf("%s: Swedish names %v, English %v", n.Name, a, b)
				}
			}
		}
	}
	if names != len(catalog) {
		t.Errorf("%d constants, %d catalogue entries", names, len(catalog))
	}
	if len(Keys()) != len(catalog) {
		t.Errorf("Keys() = %d", len(Keys()))
	}
}

var factRE = regexp.MustCompile(`\{([a-z_]+)\}`)

func facts(s string) []string {
	var out []string
	for _, m := range factRE.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}
