package counter

import (
	"github.com/kortstation/kortstation/kiosk/problem"
)

// Message is one thing the screen tells the operator (package problem's,
// the one message type of the station).
type Message = problem.Message

// Refusal is a request the rules (or the counter) refused, with every
// message: a *problem.Problem, which the web layer shows as it is.
type Refusal = problem.Problem

func msg(key, sv, en string) Message { return problem.New(key, sv, en) }

// messagesOf words the violations in err, exactly as the rules do.
func messagesOf(err error) []Message { return problem.Violations(err) }

func refuse(ms ...Message) *Refusal { return problem.Refuse(ms...) }

// refusalOf turns rule violations into a refusal; an error that holds no
// violation is returned as it is.
func refusalOf(err error) error { return problem.Of(err) }

var (
	errNoSession = refuse(msg("locked", "Stationen är låst. Logga in med ditt kort.", "The station is locked. Log in with your card."))
	errElsewhere = refuse(msg("elsewhere", "Stationen används på en annan skärm. Ta ut ditt kort och sätt i det igen för att fortsätta här.",
		"The station is in use on another screen. Remove your card and insert it again to continue here."))
	errNoFlow    = refuse(msg("no_flow", "Inget ärende pågår. Välj ett ärende på startsidan.", "No task is in progress. Choose a task on the home screen."))
	errWrongStep = refuse(msg("wrong_step", "Det steget är inte aktuellt just nu. Fortsätt med steget som visas.", "That step is not the current one. Go on with the step shown."))
)

// malformed is a request the screen should never send; what was wrong
// with it is not the operator's to read, so the screen says what to do.
func malformed(error) error {
	return refuse(msg("malformed", "Stationen förstod inte begäran. Försök igen; ladda om sidan om det händer igen.",
		"The station did not understand the request. Try again; reload the page if it happens again."))
}
