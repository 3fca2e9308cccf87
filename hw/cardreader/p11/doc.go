// Package p11 is a cardreader.Reader for cards that need the card
// vendor's PKCS#11 module (or OpenSC's) instead of the station's own
// PKCS#15 code: card events still come from pcscd, through an inner
// cardreader.Reader (pcsc.Driver on a station, sim.Reader in tests), while
// ReadCard, VerifyPIN and Sign go through the module
// (github.com/miekg/pkcs11, cgo; this package is the only place of the
// station besides pcsc that needs it).
//
// # Reader and slot
//
// A PC/SC reader's card is the token in the slot that Config.Slot chooses.
// The default rule, Match(false, ""), is OpenSC's and most vendors': the
// slot whose description is the PC/SC reader name (names longer than the
// 64 bytes of CK_SLOT_INFO compared on their first 64); with Match(true,
// …) the description may continue after the name. Of a reader's slots
// the first holding a token is used; a token label filter picks one when
// a module has one slot per PIN (e.g. OpenSC's "(PIN1)"). No matching slot
// is cardreader.ErrNoReader, a slot without a token cardreader.ErrNoCard.
// kioskd's configuration: reader=pkcs11, pkcs11-module,
// pkcs11-slot-match (exact or prefix), pkcs11-token-label.
//
// # Operations
//
//	ReadCard   C_GetTokenInfo: Serial is the token serial (16 characters
//	           at most); PINRetries from the flags: CKF_USER_PIN_LOCKED 0,
//	           CKF_USER_PIN_FINAL_TRY 1, CKF_USER_PIN_COUNT_LOW 2 (at
//	           least: exact for a three-attempt PIN), none Config.PINRetries
//	           (-1 if 0), -1 while the PIN is verified. The certificate:
//	           of the X.509 certificates with a CKA_ID, the first for
//	           digital signature without non-repudiation, else the first;
//	           none is a blank card. HSA-ID from its subject serialNumber.
//	           ATR from the last CardInserted event Run passed on.
//	VerifyPIN  format checked first (ErrPINFormat, nothing sent); C_Login
//	           CKU_USER in a session kept open, which keeps the token
//	           logged in. CKR_PIN_INCORRECT: *PINError with the attempts
//	           the flags then show (ErrPINBlocked once locked);
//	           CKR_PIN_LOCKED: ErrPINBlocked; CKR_PIN_LEN_RANGE,
//	           CKR_PIN_INVALID: ErrPINFormat. The PIN is zeroed.
//	Sign       the private key whose CKA_ID is the certificate's:
//	           CKM_RSA_PKCS over the DigestInfo of SHA-256(challenge)
//	           (x509.SHA256WithRSA) or CKM_ECDSA over SHA-256(challenge),
//	           r‖s returned as ASN.1 DER (x509.ECDSAWithSHA256). Without a
//	           verified PIN ErrSecurityStatus; no certificate or key
//	           ErrNoKey.
//
// A card that left the reader since its PIN was verified (a CardRemoved
// or CardInserted event passed on by Run, or the module invalidating the
// session: CKR_SESSION_HANDLE_INVALID, CKR_DEVICE_REMOVED,
// CKR_TOKEN_NOT_PRESENT) makes Sign give ErrCardRemoved until ReadCard
// reads a card there or VerifyPIN succeeds again.
//
// Calls into the module cannot be interrupted: an operation returns at
// its context's deadline (Config.OpTimeout at most), and the next one on
// the same reader waits for the abandoned call to return.
//
// # Personal data and PINs
//
// Nothing of a card (serial, certificate, HSA-ID, PIN, challenge,
// signature) is logged. The PIN reaches the module as a Go string that
// aliases the caller's (copied) buffer, zeroed when the call returns; the
// binding's own C copy is freed without being zeroed.
//
// # Tests
//
// Package p11test runs SoftHSM2 with tokens made at run time and a
// station of simulated readers whose cards are those tokens; this
// package's tests run the contract suite (readertest) through it.
package p11
