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
