package mail

import "strings"

// Notice is a notification to render (RE-5): what it is about, the
// message text already in the addressee's language, and the card.
type Notice struct {
	Event      string // issued, approved or expiry
	Lang       string // sv (default) or en
	CardSerial string
	Text       string
}

var subjects = map[string][2]string{ // event → Swedish, English
	"issued":   {"Reservkort {card} har lämnats ut", "Reserve card {card} has been issued"},
	"approved": {"Reservkort {card} kan aktiveras", "Reserve card {card} can be activated"},
	"expiry":   {"Påminnelse: reservkort {card} slutar snart gälla", "Reminder: reserve card {card} expires soon"},
}

// Render returns the subject and body of n in its language: Swedish unless
// n.Lang is "en".
func Render(n Notice) (subject, body string) {
	en := n.Lang == "en"
	s, ok := subjects[n.Event]
	if !ok {
		s = [2]string{"Meddelande om reservkort {card}", "About reserve card {card}"}
	}
	subject = s[0]
	greeting, footer := "Hej!", "Det här meddelandet skickades automatiskt av SITHS-kortregistret. Svara inte på det; frågor går till din reservkortsadministratör."
	if en {
		subject = s[1]
		greeting, footer = "Hello,", "This message was sent automatically by the SITHS card registry. Do not reply to it; ask your reserve-card administrator."
	}
	subject = strings.ReplaceAll(subject, "{card}", n.CardSerial)
	return subject, greeting + "\n\n" + n.Text + "\n\n-- \n" + footer + "\n"
}
