package p11

import (
	"errors"
	"fmt"
	"strings"

	"github.com/miekg/pkcs11"

	"github.com/kortstation/kortstation/hw/cardreader"
)

// Slot describes one PKCS#11 slot, for choosing the slot of a reader.
type Slot struct {
	ID uint
	// Description is the slot description, trailing blanks removed.
	Description string
	// TokenPresent: the slot holds a token (a card is in the reader).
	TokenPresent bool
	// TokenLabel and TokenSerial are the token's label and serial number,
	// trailing blanks removed; empty without a token.
	TokenLabel, TokenSerial string
}

// SlotFunc chooses the slot that holds the card of the PC/SC reader
// named reader among the module's slots (in the module's order). It
// returns an error wrapping cardreader.ErrNoReader when no slot belongs to
// reader and cardreader.ErrNoCard when the reader's slots hold no token.
type SlotFunc func(reader string, slots []Slot) (uint, error)

// descriptionLen is the size of CK_SLOT_INFO.slotDescription: longer
// reader names are cut there.
const descriptionLen = 64

// Match is the default reader↔slot rule, the one OpenSC and the card
// vendors' modules follow: a slot belongs to the reader whose PC/SC name
// is the slot description (a name longer than 64 bytes compared on its
// first 64). With prefix, a slot also belongs to the reader whose name
// begins its description (modules that append e.g. " (PIN1)"). Of a
// reader's slots the first with a token is chosen; when tokenLabel is not
// empty, only a token whose label contains it (a module with one slot per
// PIN: choose the authentication PIN's).
func Match(prefix bool, tokenLabel string) SlotFunc {
	return func(reader string, slots []Slot) (uint, error) {
		name := strings.TrimRight(reader, " ")
		if len(name) > descriptionLen {
			name = strings.TrimRight(name[:descriptionLen], " ")
		}
		belongs := false
		for _, s := range slots {
			if s.Description != name && !(prefix && strings.HasPrefix(s.Description, name)) {
				continue
			}
			belongs = true
			if s.TokenPresent && strings.Contains(s.TokenLabel, tokenLabel) {
				return s.ID, nil
			}
		}
		if !belongs {
			return 0, fmt.Errorf("no PKCS#11 slot described as the reader: %w", cardreader.ErrNoReader)
		}
		if tokenLabel != "" {
			return 0, fmt.Errorf("no token labelled *%s* in the reader's slots: %w", tokenLabel, cardreader.ErrNoCard)
		}
		return 0, fmt.Errorf("no token in the reader's slot: %w", cardreader.ErrNoCard)
	}
}

// retriesFromFlags turns the token's PIN flags into attempts left:
// CKF_USER_PIN_LOCKED 0, CKF_USER_PIN_FINAL_TRY 1, CKF_USER_PIN_COUNT_LOW
// 2 (at least two: exact for a three-attempt PIN), none fresh (the
// configured attempts of a fresh PIN, -1 if unknown).
func retriesFromFlags(flags uint, fresh int) int {
	switch {
	case flags&pkcs11.CKF_USER_PIN_LOCKED != 0:
		return 0
	case flags&pkcs11.CKF_USER_PIN_FINAL_TRY != 0:
		return 1
	case flags&pkcs11.CKF_USER_PIN_COUNT_LOW != 0:
		return 2
	case fresh > 0:
		return fresh
	default:
		return -1
	}
}

// wrongPIN is the error for CKR_PIN_INCORRECT given the token's flags read
// afterwards: ErrPINBlocked once locked, else *PINError with the attempts
// left (1 on the final try, else at least 2).
func wrongPIN(flags uint) error {
	switch n := retriesFromFlags(flags, 0); n {
	case 0:
		return cardreader.ErrPINBlocked
	case 1:
		return &cardreader.PINError{Retries: 1}
	default:
		return &cardreader.PINError{Retries: 2}
	}
}

// mapError turns a PKCS#11 return value into the package cardreader's
// errors where one fits; others are returned as they are (pkcs11.Error).
func mapError(err error) error {
	var rv pkcs11.Error
	if err == nil || !errors.As(err, &rv) {
		return err
	}
	switch uint(rv) {
	case pkcs11.CKR_PIN_LOCKED:
		return fmt.Errorf("%w (%w)", cardreader.ErrPINBlocked, err)
	case pkcs11.CKR_PIN_LEN_RANGE, pkcs11.CKR_PIN_INVALID:
		return fmt.Errorf("%w (%w)", cardreader.ErrPINFormat, err)
	case pkcs11.CKR_USER_NOT_LOGGED_IN:
		return fmt.Errorf("%w (%w)", cardreader.ErrSecurityStatus, err)
	case pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_TOKEN_NOT_PRESENT, pkcs11.CKR_SESSION_HANDLE_INVALID,
		pkcs11.CKR_SESSION_CLOSED, pkcs11.CKR_TOKEN_NOT_RECOGNIZED, pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED:
		return fmt.Errorf("%w (%w)", cardreader.ErrCardRemoved, err)
	case pkcs11.CKR_SLOT_ID_INVALID:
		return fmt.Errorf("%w (%w)", cardreader.ErrNoReader, err)
	}
	return err
}
