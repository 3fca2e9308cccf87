package counter

import "github.com/kortstation/kortstation/kiosk/receiptpdf"

// signer is one signature the receipt needs.
type signer struct {
	Key    string `json:"key"`
	Role   string `json:"role"`
	Name   string `json:"name"`
	Signed bool   `json:"signed"`
	// Statement, for the recipient who cannot sign: "recorded" until an
	// attestor confirmed it, then "confirmed" (nosign.go).
	Statement string `json:"statement,omitempty"`
}

func signersOf(f *flowState) []signer {
	out := []signer{{Key: "recipient", Role: receiptpdf.RoleRecipient, Name: f.recipient.Name}}
	role := receiptpdf.RoleAttestor
	if len(f.attestors) == 1 && managerPresent(f.recipient.Person, f.doc, f.ground, f.attestors[0].Role) {
		role = receiptpdf.RoleManager // ID-4: the manager present signs
	}
	for i, a := range f.attestors {
		out = append(out, signer{Key: attestorKey(i), Role: role, Name: a.Name})
	}
	out = append(out, signer{Key: "administrator", Role: receiptpdf.RoleAdministrator})
	for i := range out {
		_, out[i].Signed = f.sigs[out[i].Key]
	}
	if f.noSign != nil {
		out[0].Statement, out[0].Signed = "recorded", f.noSign.confirmed != nil
		if out[0].Signed {
			out[0].Statement = "confirmed"
		}
	}
	return out
}

func attestorKey(i int) string { return "attestor-" + string(rune('1'+i)) }

// sign keeps one signature; a new one replaces the signer's earlier one
// until the receipt is completed.
func (m *Counter) sign(f *flowState, in SignatureInput) error {
	var role, name string
	for _, s := range signersOf(f) {
		if s.Key == in.Key {
			role, name = s.Role, s.Name
		}
	}
	if role == "" {
		return refuse(msg("signer_unknown", "Den som skriver under finns inte på kvittensen. Välj vem som skriver under i listan.", "This signer is not on the receipt. Choose who signs from the list."))
	}
	if role == receiptpdf.RoleAdministrator {
		name = m.sess.name
	}
	if in.Key == "recipient" && f.noSign != nil {
		return refuse(msg("no_signature.recorded", "Det är registrerat att mottagaren inte kan skriva under. Ångra det först om mottagaren ska skriva under.",
			"It is recorded that the recipient cannot sign. Undo that first if the recipient is to sign."))
	}
	points := 0
	for _, st := range in.Strokes {
		for _, p := range st {
			if p.X < 0 || p.X > 1 || p.Y < 0 || p.Y > 1 {
				return refuse(msg("signature_bad", "Underskriften gick inte att läsa. Rita den igen.", "The signature could not be read. Draw it again."))
			}
		}
		points += len(st)
	}
	if points < 5 || in.AspectRatio <= 0 || in.AspectRatio > 20 {
		return refuse(Message{Rule: "RE-1", Key: "signature_empty", Text: map[string]string{
			"sv": "Underskriften saknas. Skriv ditt namn med fingret i rutan.", "en": "The signature is missing. Sign with your finger in the box."}})
	}
	f.sigs[in.Key] = receiptpdf.Signature{Role: role, Name: name, AspectRatio: in.AspectRatio, Strokes: in.Strokes}
	return nil
}
