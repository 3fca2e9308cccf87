package registry

import (
	"os"
	"regexp"
	"testing"
)

// TestConsoleSwedishComplete: every text the console's templates and
// messages give T has its Swedish (the console is Swedish by default).
func TestConsoleSwedishComplete(t *testing.T) {
	src, err := os.ReadFile("admin.go")
	if err != nil {
		t.Fatal(err)
	}
	keys := regexp.MustCompile(`\{\{T "([^"]+)"\}\}|\(T "([^"]+)"\)`).FindAllSubmatch(src, -1)
	if len(keys) < 50 {
		t.Fatalf("found %d texts in the templates", len(keys))
	}
	for _, k := range keys {
		key := string(k[1]) + string(k[2])
		if _, ok := consoleSv[key]; !ok {
			t.Errorf("no Swedish for %q", key)
		}
	}
	i18n, err := os.ReadFile("console_i18n.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range regexp.MustCompile(`tr\(lang, "([^"]+)"\)`).FindAllSubmatch(i18n, -1) {
		if _, ok := consoleSv[string(k[1])]; !ok {
			t.Errorf("no Swedish for %q", k[1])
		}
	}
	for _, k := range []string{refuseNoCert, refuseBadCert, refuseNoRole, refuseRole, refuseRequest, "viewer", "case_officer", "station_manager", "security_officer",
		"sync_now", "lock", "unlock", "pending", "approved", "rejected", "applied", "backwards", "fork", "unsigned", "bad_signature",
		ReviewOperatorMissing, ReviewOperatorNotAuthorised, ReviewCardOfAnotherStation, ReviewCardNotShippedHere, groundText("no_valid_document"), groundText("")} {
		if _, ok := consoleSv[k]; !ok {
			t.Errorf("no Swedish for %q", k)
		}
	}
}
