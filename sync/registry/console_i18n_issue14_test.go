package registry

import (
	"os"
	"regexp"
	"testing"
)

// TestIssue14SwedishComplete: every text of the search, reports and
// evidence pages has its Swedish, as have the report columns and names.
func TestIssue14SwedishComplete(t *testing.T) {
	re := regexp.MustCompile(`\{\{T "([^"]+)"\}\}|\(T "([^"]+)"\)|tr\((?:p\.)?lang, "([^"]+)"\)`)
	n := 0
	for _, f := range []string{"search.go", "reports.go", "console_evidence.go", "console_i18n.go"} {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range re.FindAllSubmatch(src, -1) {
			key := string(k[1]) + string(k[2]) + string(k[3])
			n++
			if _, ok := consoleSv[key]; !ok {
				t.Errorf("%s: no Swedish for %q", f, key)
			}
		}
	}
	if n < 60 {
		t.Fatalf("found only %d texts", n)
	}
	for _, name := range []string{ReportIssuances, ReportStock, ReportDeviations} {
		r := Report{Name: name}
		switch name {
		case ReportIssuances:
			r.Columns = []string{"Station", "Reason", "Month", "Issued", "Returned", "Voided", "Outstanding", "Overdue", "Issued"}
		case ReportStock:
			r.Columns = []string{"Station", "Stock", "Cards", "Shipped to the station", "Cards in stock"}
		case ReportDeviations:
			r.Columns = []string{"Station", "Rule", "Month", "Deviations", "Not returned", "Not followed up"}
		}
		for _, k := range append(r.Columns, name) {
			if _, ok := consoleSv[k]; !ok {
				t.Errorf("no Swedish for %q", k)
			}
		}
	}
	for _, k := range append(searchFields, "no receipt", "receipt content not understood", "returned", "blocked", "activated") {
		if _, ok := consoleSv[k]; !ok {
			t.Errorf("no Swedish for %q", k)
		}
	}
}
