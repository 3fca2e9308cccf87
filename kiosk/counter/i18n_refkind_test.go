package counter

import (
	"os"
	"strings"
	"testing"

	"github.com/kortstation/kortstation/sync/protocol"
)

// TestUINamesEveryRefKind: the status screen names each reference data
// kind the station pulls (protocol.RefKinds) in Swedish and in English,
// instead of showing the raw key.
func TestUINamesEveryRefKind(t *testing.T) {
	js, err := os.ReadFile("../../ui-static/js/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	src := string(js)
	en := strings.Index(src, "\n  en: {")
	if en < 0 {
		t.Fatal("i18n.js: no en block")
	}
	for _, k := range protocol.RefKinds {
		key := `"refkind.` + k + `":`
		if !strings.Contains(src[:en], key) {
			t.Errorf("i18n.js: Swedish lacks %s", key)
		}
		if !strings.Contains(src[en:], key) {
			t.Errorf("i18n.js: English lacks %s", key)
		}
	}
}
