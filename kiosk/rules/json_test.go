package rules

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

// TestReserveInputJSON: the websocket layer decodes UI input into the
// input structs; identities are parsed on the way in.
func TestReserveInputJSON(t *testing.T) {
	in := reserveInput(t)
	withAttestation(t, &in)
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var back ReserveIssuanceInput
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	want, err1 := IssueReserve(in)
	got, err2 := IssueReserve(back)
	if err1 != nil || err2 != nil || !got.ValidUntil.Equal(want.ValidUntil) || !got.ExpectedApproval.Equal(want.ExpectedApproval) ||
		len(got.Notifications) != len(want.Notifications) {
		t.Errorf("decision after a JSON round trip differs: %+v, %v", got, err2)
	}

	const ui = `{"now":"2024-06-03T09:00:00+02:00","recipient":{"personal_number":"19800101-1231","name":"R"},
		"recipient_present":true,"document":{"type":"swedish_passport","number":"A1","expiry":"2030-01-01"},
		"reason":"forgotten","card":{"number":"RK 1","type":"reserve","state":"in_stock"},"chip_serial":"RK1"}`
	var fromUI ReserveIssuanceInput
	if err := json.Unmarshal([]byte(ui), &fromUI); err != nil {
		t.Fatalf("decode UI input: %v", err)
	}
	if fromUI.Recipient.PersonalNumber.String() != "19800101-1231" || fromUI.Document.Expiry != date(2030, 1, 1) {
		t.Errorf("decoded %+v", fromUI)
	}
	_, err = IssueReserve(fromUI)
	wantRules(t, err, "AD-1", "RC-1", "RC-3")

	bad := `{"recipient":{"personal_number":"19800101-1232"}}`
	var v *violation.Violation
	if err := json.Unmarshal([]byte(bad), &fromUI); !errors.As(err, &v) || v.Rule != "ID-5" {
		t.Errorf("ID-5/bad Luhn in JSON: %v", err)
	}
}

// FuzzIssueReserveJSON: whatever the UI sends, decoding and deciding never
// panic, and a refusal is always Violations.
func FuzzIssueReserveJSON(f *testing.F) {
	in := reserveInput(f)
	b, _ := json.Marshal(in)
	f.Add(b)
	withAttestation(f, &in)
	b, _ = json.Marshal(in)
	f.Add(b)
	f.Add([]byte(`{"reason":"temporary_assignment","requested_days":-3,"attestors":[{},{}]}`))
	f.Add([]byte(`{"registry":{"stop_windows":[{"kind":"total_stop","start":"2024-01-01T00:00:00Z","end":"0001-01-01T00:00:00Z"}],"processing_hours":[{"from":900,"to":10}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var in ReserveIssuanceInput
		if json.Unmarshal(data, &in) != nil {
			return
		}
		if in.Now.IsZero() {
			in.Now = time.Date(2024, 6, 3, 9, 0, 0, 0, time.UTC)
		}
		_, err := IssueReserve(in)
		var vs Violations
		if err != nil && !errors.As(err, &vs) {
			t.Fatalf("refusal %T %v is not Violations", err, err)
		}
	})
}
