package rules

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// domainRuleIDs returns the rule IDs defined in a DOMAIN.md ("**RC-5**").
func domainRuleIDs(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var ids []string
	for _, m := range regexp.MustCompile(`\*\*([A-Z]{2}-[0-9]+)\*\*`).FindAllSubmatch(b, -1) {
		ids = append(ids, string(m[1]))
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// TestEveryRuleHasATest fails when a rule ID of DOMAIN.md is not named in
// a string literal (a test or case name, an expected rule) of some test
// file of this package or its sub-packages. testdata/DOMAIN.md is the copy
// of shared/DOMAIN.md this package implements; when the shared original is
// next to the checkout, the two must define the same rules.
func TestEveryRuleHasATest(t *testing.T) {
	ids := domainRuleIDs(t, filepath.Join("testdata", "DOMAIN.md"))
	if len(ids) < 29 {
		t.Fatalf("testdata/DOMAIN.md defines only %d rules: %v", len(ids), ids)
	}
	shared := filepath.Join("..", "..", "..", "shared", "DOMAIN.md")
	if _, err := os.Stat(shared); err == nil {
		if got := domainRuleIDs(t, shared); !slices.Equal(got, ids) {
			t.Errorf("shared/DOMAIN.md defines %v, testdata/DOMAIN.md %v: update the copy and the rules", got, ids)
		}
	} else {
		t.Logf("%s not present; checked against testdata/DOMAIN.md only", shared)
	}

	var literals bytes.Buffer
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") || filepath.Base(path) == "coverage_test.go" {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				literals.WriteString(lit.Value)
				literals.WriteByte('\n')
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if !regexp.MustCompile(`\b` + id + `\b`).Match(literals.Bytes()) {
			t.Errorf("rule %s is not named by any test", id)
		}
	}
}
