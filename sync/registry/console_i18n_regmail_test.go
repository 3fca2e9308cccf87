package registry

import (
	"os"
	"regexp"
	"testing"
)

// TestRegmailSwedishComplete: every text of the registered-mail pages has
// its Swedish.
func TestRegmailSwedishComplete(t *testing.T) {
	src, err := os.ReadFile("regmail_page.go")
	if err != nil {
		t.Fatal(err)
	}
	keys := regexp.MustCompile(`\{\{T "([^"]+)"\}\}|\(T "([^"]+)"\)|tr\(lang, "([^"]+)"\)`).FindAllSubmatch(src, -1)
	if len(keys) < 30 {
		t.Fatalf("found %d texts", len(keys))
	}
	for _, k := range keys {
		key := string(k[1]) + string(k[2]) + string(k[3])
		if _, ok := consoleSv[key]; !ok {
			t.Errorf("no Swedish for %q", key)
		}
	}
	for _, k := range []string{EnvelopeRegistered, EnvelopeSent, EnvelopeReceiptReturned, EnvelopeActivated, EnvelopeCancelled, IDMethodRegisteredMail} {
		if _, ok := consoleSv[k]; !ok {
			t.Errorf("no Swedish for %q", k)
		}
		if tr(langEn, k) == "" {
			t.Errorf("no English for %q", k)
		}
	}
}
