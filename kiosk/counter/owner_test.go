package counter

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func (c *counter) callAs(client, typ string, payload any) (json.RawMessage, error) {
	c.t.Helper()
	b, _ := json.Marshal(payload)
	res, err := c.m.Handle(context.Background(), client, typ, b)
	if err != nil {
		return nil, err
	}
	out, _ := json.Marshal(res)
	return out, nil
}

func (c *counter) viewAs(client string) View {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	return c.m.view(context.Background(), client)
}

func isElsewhere(err error) bool {
	var r *Refusal
	return errors.As(err, &r) && len(r.Messages) > 0 && r.Messages[0].Key == "elsewhere"
}

// TestSecondConnectionCannotReadActOrSendPINs plays a local process that
// opened its own connection to the UI channel while the operator works:
// it sees no personal data, cannot move the session, and cannot spend the
// card's PIN attempts.
func TestSecondConnectionCannotReadActOrSendPINs(t *testing.T) {
	c := newCounter(t)
	c.insert(0, "9752269900000000011")
	c.waitView(func(v View) bool { return v.State == "pin" })

	// The kiosk claims the login with a wrong PIN: 2 attempts left.
	if _, err := c.callAs("test", "session.pin", map[string]string{"pin": "0000"}); err == nil {
		t.Fatal("wrong PIN accepted")
	}
	// The attacker tries PINs on the same card: refused before the card.
	for range 3 {
		if _, err := c.callAs("mallory", "session.pin", map[string]string{"pin": "9999"}); !isElsewhere(err) {
			t.Fatalf("second connection's PIN: got %v, want refused as elsewhere", err)
		}
	}
	if v := c.viewAs("test"); v.Login == nil || v.Login.Retries != 2 {
		t.Fatalf("PIN attempts left after the attacker's tries: %+v, want 2", v.Login)
	}
	if v := c.viewAs("mallory"); v.State != "elsewhere" || v.Login != nil {
		t.Fatalf("the attacker sees the login: %+v", v)
	}

	raw, err := c.callAs("test", "session.pin", map[string]string{"pin": "1234"})
	if err != nil {
		t.Fatal(err)
	}
	var reply struct {
		Resume string `json:"resume"`
	}
	if err := json.Unmarshal(raw, &reply); err != nil || len(reply.Resume) < 20 {
		t.Fatalf("login reply %s: want a resume secret", raw)
	}
	c.issueUpToCard("19121212-1212")

	// The attacker reads: no operator, no recipient, no flow.
	v := c.viewAs("mallory")
	b, _ := json.Marshal(v)
	if v.State != "elsewhere" || v.Flow != nil || v.Operator != nil || strings.Contains(string(b), "1212") || strings.Contains(string(b), "Eva") {
		t.Fatalf("second connection's view: %s", b)
	}
	if _, err := c.callAs("mallory", "session.get", nil); err != nil {
		t.Fatal(err)
	}
	raw, _ = c.callAs("mallory", "status.get", nil)
	if strings.Contains(string(raw), "1212") || strings.Contains(string(raw), "Eva") {
		t.Fatalf("status snapshot for the second connection holds personal data: %s", raw)
	}
	// The attacker acts: every session request is refused and changes
	// nothing.
	before := c.viewAs("test")
	for _, req := range []struct {
		typ     string
		payload any
	}{
		{"flow.step", map[string]any{"step": "close"}},
		{"flow.cancel", nil},
		{"flow.start", map[string]Kind{"kind": KindStatus}},
		{"session.logout", nil},
		{"session.touch", nil},
		{"session.pin", map[string]string{"pin": "1234"}},
		{"session.resume", map[string]string{"secret": "guess"}},
	} {
		if _, err := c.callAs("mallory", req.typ, req.payload); !isElsewhere(err) {
			t.Errorf("%s from a second connection: got %v, want refused", req.typ, err)
		}
	}
	after := c.viewAs("test")
	if after.Flow == nil || before.Flow.Step != after.Flow.Step || after.State != "ready" {
		t.Fatalf("the attacker moved the session: before %+v, after %+v", before.Flow, after.Flow)
	}
	var refusals int
	c.st.Reader().QueryRow(`SELECT count(*) FROM audit_log WHERE kind LIKE 'session.%_refused' AND actor = 'ui:mallory'`).Scan(&refusals)
	if refusals < 8 {
		t.Errorf("audited refusals of the second connection = %d, want every one (≥ 8)", refusals)
	}

	// A reloaded page (a new connection) with the secret takes the session
	// back; the old connection no longer holds it.
	if _, err := c.callAs("reloaded", "session.resume", map[string]string{"secret": reply.Resume}); err != nil {
		t.Fatalf("resume with the secret: %v", err)
	}
	if v := c.viewAs("reloaded"); v.Flow == nil || v.State != "ready" {
		t.Fatalf("resumed view = %+v", v)
	}
	if v := c.viewAs("test"); v.State != "elsewhere" {
		t.Fatalf("old connection after resume: %+v, want elsewhere", v)
	}
	// After logout the secret is worth nothing.
	if _, err := c.callAs("reloaded", "session.logout", nil); err != nil {
		t.Fatal(err)
	}
	c.remove(0)
	c.waitView(func(v View) bool { return v.State == "locked" })
	c.login()
	if _, err := c.callAs("mallory", "session.resume", map[string]string{"secret": reply.Resume}); !isElsewhere(err) {
		t.Fatalf("an old secret resumed a new session: %v", err)
	}
}
