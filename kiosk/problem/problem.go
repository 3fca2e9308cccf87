// Package problem is the one way the station tells a person why a request
// was refused or failed: a Problem is an error that carries one or more
// Messages, each with a stable key, the rule that said no (a DOMAIN.md ID,
// when a rule did) and its text in Swedish and English. The counter's
// refusals, the rules' violations, the station's own refusals (a locked
// station, an unknown request) and the dev panel's all travel as a Problem;
// the web layer sends it to the UI as it is.
//
// It is a leaf: it imports only the rules' violation type, to word
// violations exactly as the rules do.
package problem

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

// Message is one thing the screen tells the person at the counter.
type Message struct {
	Key  string            `json:"key"`
	Rule string            `json:"rule,omitempty"`
	Text map[string]string `json:"text"`
}

// New returns a message with its Swedish and English text.
func New(key, sv, en string) Message {
	return Message{Key: key, Text: map[string]string{"sv": sv, "en": en}}
}

// WithRule returns m naming the rule that refused.
func (m Message) WithRule(rule string) Message {
	m.Rule = rule
	return m
}

// Problem is a refused or failed request: every message, in order.
type Problem struct {
	Messages []Message
}

// Refuse returns a problem with the messages ms.
func Refuse(ms ...Message) *Problem { return &Problem{Messages: ms} }

// Errorf is shorthand for a problem of one message.
func Errorf(key, sv, en string) *Problem { return Refuse(New(key, sv, en)) }

// Key is the first message's key ("refused" when there is none).
func (p *Problem) Key() string {
	if len(p.Messages) == 0 {
		return "refused"
	}
	return p.Messages[0].Key
}

// Rule is the first message's rule, if any.
func (p *Problem) Rule() string {
	if len(p.Messages) == 0 {
		return ""
	}
	return p.Messages[0].Rule
}

// Text joins the messages in lang, as the screen shows them: without
// their rules' IDs (those are in Rule, for the audit log and tests).
func (p *Problem) Text(lang string) string {
	parts := make([]string, 0, len(p.Messages))
	for _, m := range p.Messages {
		parts = append(parts, m.Text[lang])
	}
	return strings.Join(parts, " ")
}

// Error is the English text, each message with its rule.
func (p *Problem) Error() string {
	parts := make([]string, 0, len(p.Messages))
	for _, m := range p.Messages {
		s := m.Text["en"]
		if m.Rule != "" {
			s = m.Rule + ": " + s
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// wire is a problem as the UI receives it: the first message's key and
// rule, the whole text in both languages, and every message.
type wire struct {
	Key      string            `json:"key"`
	Rule     string            `json:"rule,omitempty"`
	Text     map[string]string `json:"text"`
	Messages []Message         `json:"messages,omitempty"`
}

// MarshalJSON encodes the problem for the UI.
func (p *Problem) MarshalJSON() ([]byte, error) {
	return json.Marshal(wire{Key: p.Key(), Rule: p.Rule(), Text: map[string]string{"sv": p.Text("sv"), "en": p.Text("en")}, Messages: p.Messages})
}

// UnmarshalJSON decodes a problem as the UI receives it (tests, clients).
func (p *Problem) UnmarshalJSON(b []byte) error {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	p.Messages = w.Messages
	if len(p.Messages) == 0 {
		p.Messages = []Message{{Key: w.Key, Rule: w.Rule, Text: w.Text}}
	}
	return nil
}

// Violations words the rule violations in err as messages: the rules
// package's text with the facts in words (a card state "handed_out" is
// "utlämnat"), followed by what to do next where the text does not say it
// (words.go).
func Violations(err error) []Message {
	vs := violation.All(err)
	out := make([]Message, 0, len(vs))
	for _, v := range vs {
		out = append(out, Message{Rule: v.Rule, Key: string(v.Key), Text: map[string]string{"sv": render(v, "sv"), "en": render(v, "en")}})
	}
	return out
}

// Of returns err as a *Problem when it is one or holds rule violations;
// any other error is returned as it is (an internal failure, for the log).
func Of(err error) error {
	if err == nil {
		return nil
	}
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	if ms := Violations(err); len(ms) > 0 {
		return &Problem{Messages: ms}
	}
	return err
}

// Internal is what the UI is shown for a failure that is not the person's
// to fix; the error itself goes to the log.
var Internal = Errorf("internal", "Något gick fel i stationen. Försök igen.", "Something went wrong in the station. Try again.")
