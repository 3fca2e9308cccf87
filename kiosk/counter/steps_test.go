package counter

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
)

// TestUIMirrorsTheSteps: the screens (ui-static/js/steps.js) name exactly
// the counter's kinds, steps, actions and states (steps.go), so neither
// side can add or rename one without the other.
func TestUIMirrorsTheSteps(t *testing.T) {
	goConsts := map[string][]string{} // type → values
	f, err := parser.ParseFile(token.NewFileSet(), "steps.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			v := s.(*ast.ValueSpec)
			id, ok := v.Type.(*ast.Ident)
			if !ok || len(v.Values) != 1 {
				continue
			}
			lit, ok := v.Values[0].(*ast.BasicLit)
			if !ok {
				continue
			}
			val, _ := strconv.Unquote(lit.Value)
			goConsts[id.Name] = append(goConsts[id.Name], val)
		}
	}
	js, err := os.ReadFile("../../ui-static/js/steps.js")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)export const (\w+) = Object\.freeze\(\{(.*?)\}\);`)
	entry := regexp.MustCompile(`\w+: "([a-z_]+)"`)
	jsConsts := map[string][]string{}
	for _, m := range block.FindAllSubmatch(js, -1) {
		for _, e := range entry.FindAllSubmatch(m[2], -1) {
			jsConsts[string(m[1])] = append(jsConsts[string(m[1])], string(e[1]))
		}
	}
	for _, typ := range []string{"Kind", "Step", "Action", "State"} {
		g, j := slices.Sorted(slices.Values(goConsts[typ])), slices.Sorted(slices.Values(jsConsts[typ]))
		if len(g) == 0 {
			t.Errorf("steps.go declares no %s constants", typ)
		}
		if !slices.Equal(g, j) {
			t.Errorf("%s: steps.go has %v, steps.js has %v", typ, g, j)
		}
	}
}

// TestStepIndicator: the step indicator counts the flow's steps without
// the result; pickup counts the manager's step (ID-4) only for staff
// without a Swedish number.
func TestStepIndicator(t *testing.T) {
	hsa, err := ident.ParseHSAID("SE2321000131-P000000000011")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		f          flowState
		index, cnt int
	}{
		{flowState{kind: KindIssue, step: StepReason}, 1, 7},
		{flowState{kind: KindIssue, step: StepIdentity}, 3, 7},
		{flowState{kind: KindIssue, step: StepSign}, 7, 7},
		{flowState{kind: KindIssue, step: StepDone}, 0, 7},
		{flowState{kind: KindPickup, step: StepCard}, 3, 6},
		{flowState{kind: KindPickup, step: StepCard, recipient: rules.Recipient{Person: rules.Person{HSAID: hsa}}}, 4, 7},
		{flowState{kind: KindExtend, step: StepPreview}, 3, 4},
		{flowState{kind: KindStatus, step: StepShow}, 1, 1},
	}
	for _, c := range cases {
		i, n := progressOf(&c.f)
		if i != c.index || n != c.cnt {
			t.Errorf("%s at %s: step %d of %d, want %d of %d", c.f.kind, c.f.step, i, n, c.index, c.cnt)
		}
	}
}
