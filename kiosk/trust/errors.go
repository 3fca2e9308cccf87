package trust

import (
	"github.com/kortstation/kortstation/kiosk/problem"
)

// Reason is the stable key of a refusal: the UI shows its text, the audit
// log records the key. It never carries personal data.
type Reason string

// The reasons Verify refuses a card identity, in the order it checks.
const (
	ReasonNoCertificate    Reason = "trust.no_certificate"
	ReasonUntrusted        Reason = "trust.untrusted"         // (a) does not chain to a trust anchor
	ReasonClockUnsynced    Reason = "trust.clock_unsynced"    // (b) the station's clock is not synchronised
	ReasonExpired          Reason = "trust.expired"           // (b) past NotAfter (leaf or CA)
	ReasonNotYetValid      Reason = "trust.not_yet_valid"     // (b) before NotBefore (leaf or CA)
	ReasonKeyUsage         Reason = "trust.key_usage"         // (c) no digitalSignature, wrong EKU, or a CA certificate
	ReasonRevoked          Reason = "trust.revoked"           // (d) on its issuer's CRL
	ReasonCRLMissing       Reason = "trust.crl_missing"       // (d) no CRL of the issuer
	ReasonCRLStale         Reason = "trust.crl_stale"         // (d) the issuer's CRL is past NextUpdate + grace
	ReasonCRLInvalid       Reason = "trust.crl_invalid"       // (d) the only CRL naming the issuer was refused (forged)
	ReasonChallengeUnknown Reason = "trust.challenge_unknown" // (e) never issued by this station
	ReasonChallengeUsed    Reason = "trust.challenge_used"    // (e) already presented once
	ReasonChallengeExpired Reason = "trust.challenge_expired" // (e) past its lifetime
	ReasonChallengeBinding Reason = "trust.challenge_binding" // (e) issued for another reader or session
	ReasonBadSignature     Reason = "trust.bad_signature"     // (e) the signature does not verify with the certificate's key
	ReasonNoHSAID          Reason = "trust.no_hsa_id"         // the subject serialNumber is no HSA-ID
)

// Reasons lists every reason, in the order Verify checks.
func Reasons() []Reason {
	return []Reason{ReasonNoCertificate, ReasonUntrusted, ReasonClockUnsynced, ReasonExpired, ReasonNotYetValid,
		ReasonKeyUsage, ReasonRevoked, ReasonCRLMissing, ReasonCRLStale, ReasonCRLInvalid,
		ReasonChallengeUnknown, ReasonChallengeUsed, ReasonChallengeExpired, ReasonChallengeBinding,
		ReasonBadSignature, ReasonNoHSAID}
}

// Message is the reason in Swedish and English, as the station shows it.
func (r Reason) Message() problem.Message {
	sv, en := r.text()
	return problem.New(string(r), sv, en)
}

func (r Reason) text() (sv, en string) {
	const again = " Ta ut kortet och försök igen."
	const againEn = " Remove the card and try again."
	switch r {
	case ReasonNoCertificate:
		return "Kortet har inget certifikat.", "The card holds no certificate."
	case ReasonUntrusted:
		return "Kortets certifikat är inte utfärdat av en betrodd SITHS-utfärdare.", "The card's certificate was not issued by a trusted SITHS certificate authority."
	case ReasonClockUnsynced:
		return "Stationens klocka är inte synkroniserad, så kortets giltighet kan inte kontrolleras.", "The station's clock is not synchronised, so the card's validity cannot be checked."
	case ReasonExpired:
		return "Kortets certifikat har gått ut.", "The card's certificate has expired."
	case ReasonNotYetValid:
		return "Kortets certifikat är inte giltigt ännu.", "The card's certificate is not valid yet."
	case ReasonKeyUsage:
		return "Kortets certifikat får inte användas för inloggning.", "The card's certificate may not be used to sign in."
	case ReasonRevoked:
		return "Kortets certifikat är spärrat.", "The card's certificate has been revoked."
	case ReasonCRLMissing:
		return "Spärrlistan för kortets utfärdare saknas, så kortet kan inte kontrolleras. Synka stationen.", "The revocation list of the card's certificate authority is missing, so the card cannot be checked. Sync the station."
	case ReasonCRLStale:
		return "Spärrlistan för kortets utfärdare är för gammal. Synka stationen.", "The revocation list of the card's certificate authority is out of date. Sync the station."
	case ReasonCRLInvalid:
		return "Spärrlistan för kortets utfärdare är ogiltig: dess underskrift stämmer inte.", "The revocation list of the card's certificate authority is invalid: its signature does not verify."
	case ReasonChallengeUnknown:
		return "Kortets svar gäller ingen utmaning från den här stationen." + again, "The card answered a challenge this station did not issue." + againEn
	case ReasonChallengeUsed:
		return "Utmaningen har redan använts." + again, "The challenge has already been used." + againEn
	case ReasonChallengeExpired:
		return "Utmaningen har gått ut." + again, "The challenge has expired." + againEn
	case ReasonChallengeBinding:
		return "Utmaningen utfärdades för en annan kortläsare." + again, "The challenge was issued for another card reader." + againEn
	case ReasonBadSignature:
		return "Kortets underskrift stämmer inte med dess certifikat.", "The card's signature does not match its certificate."
	case ReasonNoHSAID:
		return "Kortets certifikat har inget giltigt HSA-id.", "The card's certificate holds no valid HSA-ID."
	}
	return "Kortet kunde inte kontrolleras.", "The card could not be checked."
}

// Error is a refusal of a card identity. errors.Is matches it against the
// sentinel of its reason (ErrRevoked, …); errors.As also gives it as a
// *problem.Problem, so problem.Of hands it to the UI as it is. Its text
// names the reason and a technical detail, never personal data (no name,
// no HSA-ID, no serial number).
type Error struct {
	Reason Reason
	// Detail is technical and free of personal data (e.g. which x509 check
	// failed); it is not shown to the person at the counter.
	Detail string
}

// Error is the key, the English text and the detail.
func (e *Error) Error() string {
	_, en := e.Reason.text()
	s := "trust: " + string(e.Reason) + ": " + en
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// Is reports whether target is an *Error of the same reason.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Reason == e.Reason
}

// As gives the refusal as a *problem.Problem.
func (e *Error) As(target any) bool {
	if p, ok := target.(**problem.Problem); ok {
		*p = e.Problem()
		return true
	}
	return false
}

// Problem is the refusal as the station's one message type.
func (e *Error) Problem() *problem.Problem { return problem.Refuse(e.Reason.Message()) }

func refuse(r Reason, detail string) *Error { return &Error{Reason: r, Detail: detail} }

// Sentinels for errors.Is, one per reason.
var (
	ErrNoCertificate    = &Error{Reason: ReasonNoCertificate}
	ErrUntrusted        = &Error{Reason: ReasonUntrusted}
	ErrClockUnsynced    = &Error{Reason: ReasonClockUnsynced}
	ErrExpired          = &Error{Reason: ReasonExpired}
	ErrNotYetValid      = &Error{Reason: ReasonNotYetValid}
	ErrKeyUsage         = &Error{Reason: ReasonKeyUsage}
	ErrRevoked          = &Error{Reason: ReasonRevoked}
	ErrCRLMissing       = &Error{Reason: ReasonCRLMissing}
	ErrCRLStale         = &Error{Reason: ReasonCRLStale}
	ErrCRLInvalid       = &Error{Reason: ReasonCRLInvalid}
	ErrChallengeUnknown = &Error{Reason: ReasonChallengeUnknown}
	ErrChallengeUsed    = &Error{Reason: ReasonChallengeUsed}
	ErrChallengeExpired = &Error{Reason: ReasonChallengeExpired}
	ErrChallengeBinding = &Error{Reason: ReasonChallengeBinding}
	ErrBadSignature     = &Error{Reason: ReasonBadSignature}
	ErrNoHSAID          = &Error{Reason: ReasonNoHSAID}
)
