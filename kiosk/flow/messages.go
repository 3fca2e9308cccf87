package flow

import (
	"errors"
	"strings"

	"github.com/kortstation/kortstation/kiosk/rules/violation"
	"github.com/kortstation/kortstation/kiosk/web"
)

// Message is one thing the screen tells the operator: a rule ID when a
// rule said no, and the text in Swedish and English.
type Message struct {
	Rule string            `json:"rule,omitempty"`
	Key  string            `json:"key"`
	Text map[string]string `json:"text"`
}

func msg(key, sv, en string) Message {
	return Message{Key: key, Text: map[string]string{"sv": sv, "en": en}}
}

// messagesOf turns the violations in err into messages in both languages,
// exactly as the rules package words them.
func messagesOf(err error) []Message {
	vs := violation.All(err)
	out := make([]Message, 0, len(vs))
	for _, v := range vs {
		out = append(out, Message{Rule: v.Rule, Key: string(v.Key), Text: map[string]string{"sv": v.Message("sv"), "en": v.Message("en")}})
	}
	return out
}

// Refusal is a request the rules (or the station) refused; it carries
// every message. It is what a handler returns, and the web layer shows it
// as a *web.Problem.
type Refusal struct {
	Messages []Message
}

// Error joins the English messages, each with its rule.
func (r *Refusal) Error() string {
	parts := make([]string, 0, len(r.Messages))
	for _, m := range r.Messages {
		s := m.Text["en"]
		if m.Rule != "" {
			s = m.Rule + ": " + s
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// Problem is the refusal as the UI shows it: every message, each with its
// rule.
func (r *Refusal) Problem() *web.Problem {
	p := &web.Problem{Key: "refused", Text: map[string]string{}}
	if len(r.Messages) > 0 {
		p.Key = r.Messages[0].Key
		p.Rule = r.Messages[0].Rule
	}
	for _, lang := range []string{"sv", "en"} {
		parts := make([]string, 0, len(r.Messages))
		for _, m := range r.Messages {
			s := m.Text[lang]
			if m.Rule != "" {
				s = m.Rule + ": " + s
			}
			parts = append(parts, s)
		}
		p.Text[lang] = strings.Join(parts, " ")
	}
	return p
}

func refuse(ms ...Message) *Refusal { return &Refusal{Messages: ms} }

// refusalOf turns rule violations into a refusal; an error that holds no
// violation is returned as it is.
func refusalOf(err error) error {
	if err == nil {
		return nil
	}
	var r *Refusal
	if errors.As(err, &r) {
		return r
	}
	ms := messagesOf(err)
	if len(ms) == 0 {
		return err
	}
	return &Refusal{Messages: ms}
}

var (
	errNoSession = refuse(msg("locked", "Stationen är låst. Logga in med ditt kort.", "The station is locked. Log in with your card."))
	errElsewhere = refuse(msg("elsewhere", "Stationen används på en annan skärm. Ta ut ditt kort och sätt i det igen för att fortsätta här.",
		"The station is in use on another screen. Remove your card and insert it again to continue here."))
	errNoFlow    = refuse(msg("no_flow", "Inget ärende pågår.", "No task is in progress."))
	errWrongStep = refuse(msg("wrong_step", "Det steget är inte aktuellt just nu.", "That step is not the current one."))
)

func malformed(err error) error {
	return refuse(msg("malformed", "Felaktig begäran: "+err.Error(), "Malformed request: "+err.Error()))
}
