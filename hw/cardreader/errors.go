package cardreader

import (
	"errors"
	"fmt"
)

// Sentinel errors. Drivers wrap them with context; test with errors.Is.
var (
	// ErrNoReader: the named reader does not exist (or was unplugged).
	ErrNoReader = errors.New("cardreader: no such reader")
	// ErrNoCard: there is no card in the reader.
	ErrNoCard = errors.New("cardreader: no card in the reader")
	// ErrCardRemoved: the card was pulled out during the operation.
	ErrCardRemoved = errors.New("cardreader: card removed during the operation")
	// ErrServiceUnavailable: the PC/SC service (pcscd) cannot be reached.
	ErrServiceUnavailable = errors.New("cardreader: PC/SC service unavailable")
	// ErrNoResponse: the card's answer was not a response APDU (fewer than
	// two bytes); typically the card left mid-command.
	ErrNoResponse = errors.New("cardreader: no valid response from the card")
	// ErrUnsupportedCard: the card does not carry a PKCS#15 application
	// the station can use.
	ErrUnsupportedCard = errors.New("cardreader: card application not found")
	// ErrNoSerial: EF.TokenInfo has no serial number.
	ErrNoSerial = errors.New("cardreader: card has no serial number")
	// ErrNoKey: the card has no private key to sign with (a blank card, or
	// a PrKDF without a signing key).
	ErrNoKey = errors.New("cardreader: card has no signing key")
	// ErrSecurityStatus: the card refused to sign because the PIN has not
	// been verified in this card session (status 6982).
	ErrSecurityStatus = errors.New("cardreader: security status not satisfied (PIN not verified in this card session)")
	// ErrNoCertificate: the card has no holder certificate (a blank reserve
	// card). ReadCard treats it as a normal state, not an error.
	ErrNoCertificate = errors.New("cardreader: card has no certificate")
	// ErrPINBlocked: the PIN is blocked (status 6983, or 63C0).
	ErrPINBlocked = errors.New("cardreader: PIN blocked")
	// ErrPINFormat: the PIN is not 4 to 8 ASCII digits. Nothing was sent
	// to the card, so no attempt was used.
	ErrPINFormat = errors.New("cardreader: PIN must be 4 to 8 digits")
	// ErrAlreadyRunning: Run was called while another Run is active.
	ErrAlreadyRunning = errors.New("cardreader: Run is already active")
)

// PINError is a wrong PIN with attempts left (status 63Cx, x ≥ 1).
type PINError struct {
	// Retries is the number of attempts left before the PIN blocks.
	Retries int
}

// Error says how many attempts are left, e.g. "wrong PIN: 2 attempts left".
func (e *PINError) Error() string {
	if e.Retries == 1 {
		return "wrong PIN: 1 attempt left"
	}
	return fmt.Sprintf("wrong PIN: %d attempts left", e.Retries)
}

// StatusError is a status word from the card that is neither success nor
// one of the PIN states.
type StatusError struct {
	// Command names the command that failed, e.g. "READ BINARY".
	Command string
	// SW is SW1 SW2 as one number, e.g. 0x6A82.
	SW uint16
}

// Error names the command and the status word in hex.
func (e *StatusError) Error() string {
	return fmt.Sprintf("cardreader: %s: card status %04X", e.Command, e.SW)
}
