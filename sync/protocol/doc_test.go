package protocol

import (
	"bufio"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// docPath is the human-readable contract.
const docPath = "../../docs/sync-protocol.md"

// contractDoc is what docs/sync-protocol.md says about events and person
// facts: the event-kind table (kind → payload type name) and, per type, the
// JSON fields of its "#### `Type`" table.
type contractDoc struct {
	kinds     map[string]string
	kindOrder []string
	fields    map[string][]string
}

var backticked = regexp.MustCompile("`([^`]+)`")

// readContractDoc parses the doc: the kind table is the first table after
// "### Event kinds and payloads" (first column the kind, second the payload
// type, both in backticks); a field table follows a "#### " heading naming
// one or more types in backticks, its first column the JSON field name in
// backticks.
func readContractDoc(t *testing.T) contractDoc {
	t.Helper()
	f, err := os.Open(docPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc := contractDoc{kinds: map[string]string{}, fields: map[string][]string{}}
	const (
		outside = iota
		kindSection
		kindTable
		fieldSection
	)
	state := outside
	var types []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "### Event kinds and payloads":
			state = kindSection
			continue
		case strings.HasPrefix(line, "#### "):
			types = nil
			for _, m := range backticked.FindAllStringSubmatch(line, -1) {
				types = append(types, m[1])
			}
			for _, ty := range types {
				if _, dup := doc.fields[ty]; dup {
					t.Errorf("doc: %s has two field tables", ty)
				}
				doc.fields[ty] = []string{}
			}
			state = fieldSection
			continue
		case strings.HasPrefix(line, "#"):
			state = outside
			continue
		}
		cells := tableRow(line)
		switch state {
		case kindSection:
			if cells != nil {
				state = kindTable
			}
			fallthrough
		case kindTable:
			if cells == nil {
				if state == kindTable {
					state = outside
				}
				continue
			}
			kind, okKind := code(cells[0])
			payload, okPayload := "", false
			if len(cells) > 1 {
				payload, okPayload = code(cells[1])
			}
			if !okKind || !okPayload {
				continue // header or separator
			}
			if _, dup := doc.kinds[kind]; dup {
				t.Errorf("doc: kind %s listed twice", kind)
			}
			doc.kinds[kind] = payload
			doc.kindOrder = append(doc.kindOrder, kind)
		case fieldSection:
			if cells == nil {
				continue
			}
			name, ok := code(cells[0])
			if !ok {
				continue
			}
			for _, ty := range types {
				doc.fields[ty] = append(doc.fields[ty], name)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return doc
}

// tableRow splits a Markdown table row into its trimmed cells; nil when
// line is not a table row.
func tableRow(line string) []string {
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") {
		return nil
	}
	parts := strings.Split(strings.Trim(line, "|"), "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// code returns the content of a cell that is exactly one code span.
func code(cell string) (string, bool) {
	if len(cell) > 2 && strings.Count(cell, "`") == 2 && cell[0] == '`' && cell[len(cell)-1] == '`' {
		return cell[1 : len(cell)-1], true
	}
	return "", false
}

// documentedTypes are the types besides the payloads whose fields the doc
// lists.
var documentedTypes = []reflect.Type{
	reflect.TypeFor[PersonFactsDoc](),
	reflect.TypeFor[RegularCardFact](),
	reflect.TypeFor[OrderFact](),
	reflect.TypeFor[ReserveCardFact](),
	reflect.TypeFor[TrustIntermediate](),
	reflect.TypeFor[AdminRequest](),
	reflect.TypeFor[CRL](),
	reflect.TypeFor[PersonLookupRequest](),
	reflect.TypeFor[PersonLookupResponse](),
	reflect.TypeFor[StationPolicy](),
}

// TestDocMatchesEventKinds: docs/sync-protocol.md cannot drift from the
// code. Every kind of EventKinds is in the doc's kind table with its
// payload type, every documented kind exists, and every documented type's
// field table lists exactly the JSON fields of the Go type.
func TestDocMatchesEventKinds(t *testing.T) {
	doc := readContractDoc(t)
	if len(doc.kinds) == 0 {
		t.Fatalf("no event kinds found in %s", docPath)
	}
	types := map[string]reflect.Type{}
	var codeKinds []string
	for _, k := range EventKinds() {
		codeKinds = append(codeKinds, k.Kind)
		types[k.Payload] = k.typ
		got, ok := doc.kinds[k.Kind]
		switch {
		case !ok:
			t.Errorf("kind %s (%s) is not documented", k.Kind, k.Payload)
		case got != k.Payload:
			t.Errorf("kind %s: doc says payload %s, got %s in code", k.Kind, got, k.Payload)
		}
	}
	for _, kind := range doc.kindOrder {
		if !slices.Contains(codeKinds, kind) {
			t.Errorf("documented kind %s is not in protocol.EventKinds", kind)
		}
	}
	if !slices.Equal(doc.kindOrder, codeKinds) {
		t.Errorf("doc lists kinds %v, want the order of EventKinds %v", doc.kindOrder, codeKinds)
	}
	for _, ty := range documentedTypes {
		types[ty.Name()] = ty
	}
	for name, ty := range types {
		got, ok := doc.fields[name]
		if !ok {
			t.Errorf("%s has no field table (#### `%s`)", name, name)
			continue
		}
		want := jsonFields(ty)
		for _, f := range want {
			if !slices.Contains(got, f) {
				t.Errorf("%s: field %s is not documented", name, f)
			}
		}
		for _, f := range got {
			if !slices.Contains(want, f) {
				t.Errorf("%s: documented field %s is not a JSON field of the type (%v)", name, f, want)
			}
		}
	}
	for name := range doc.fields {
		if _, ok := types[name]; !ok {
			t.Errorf("doc has a field table for %s, which is no payload, facts, trust material or policy type", name)
		}
	}
}

// TestEventKinds: each kind is listed once, names its payload's kind and
// decodes into its payload type.
func TestEventKinds(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range EventKinds() {
		if seen[k.Kind] {
			t.Errorf("kind %s listed twice", k.Kind)
		}
		seen[k.Kind] = true
		if k.Description == "" || k.Payload == "" {
			t.Errorf("kind %s: got payload %q, description %q; want both", k.Kind, k.Payload, k.Description)
		}
		p, err := DecodePayload(k.Kind, []byte(`{}`))
		if err != nil {
			t.Errorf("kind %s: %v", k.Kind, err)
			continue
		}
		if got := p.EventKind(); got != k.Kind {
			t.Errorf("kind %s decodes into %T of kind %s", k.Kind, p, got)
		}
		if got := reflect.TypeOf(p).Name(); got != k.Payload {
			t.Errorf("kind %s decodes into %s, want %s", k.Kind, got, k.Payload)
		}
	}
	if _, err := DecodePayload("drawer.alarm", []byte(`{}`)); err == nil {
		t.Error("an undocumented kind decoded without error")
	}
}
