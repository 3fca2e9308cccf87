// Package cardreader is the station's view of a PC/SC card reader: the
// events it raises (readers attached and detached, cards inserted and
// removed, the PC/SC service lost and restored), the card data the station
// reads (ATR, serial number, holder certificate with the HSA-ID) and PIN
// verification on the card, with status words mapped to typed errors.
//
// The package has no cgo. The real driver lives in the sibling package pcsc
// (pcscd through github.com/ebfe/scard); the simulator used by `make run` and
// the UI tests lives in sim; the virtual card that backs both the simulator
// and the integration tests lives in vcard; the contract suite that every
// Reader must pass lives in readertest.
//
// # The card application
//
// Station cards carry a small SITHS-like application. Its protocol is
// implemented once, by Client, over any Transport (a function that sends one
// command APDU and returns the response APDU), so the real driver and the
// simulator run the same code. All APDUs are ISO 7816-4 short APDUs with
// CLA 00.
//
//	SELECT application   00 A4 04 00 06 F0 4B 53 54 4E 01 00
//	                     9000 selected (also resets the PIN-verified state)
//	                     6A82 the card does not carry the application
//	GET DATA serial      00 CA 00 5A 00
//	                     serial number in printable ASCII + 9000
//	                     6A88 no serial number
//	SELECT certificate   00 A4 02 0C 02 C1 01
//	                     9000 selected; 6A82 no certificate on the card (a
//	                     blank reserve card, not yet personalised)
//	READ BINARY          00 B0 OH OL LE
//	                     up to LE bytes of the selected file from offset
//	                     OH OL (15 bits) + 9000; 6282 end of file reached
//	                     before LE bytes; 6B00 offset beyond the end of file.
//	                     The client reads the first chunk, takes the total
//	                     length from the DER header and reads the rest in
//	                     chunks of ChunkSize bytes.
//	VERIFY (status)      00 20 00 81
//	                     63Cx x attempts left; 6983 PIN blocked;
//	                     9000 already verified in this session
//	VERIFY               00 20 00 81 08 PIN
//	                     the PIN as ASCII digits padded with FF to 8 bytes
//	                     9000 right PIN, retry counter reset;
//	                     63Cx wrong PIN, x attempts left;
//	                     6983 PIN blocked (also on the wrong attempt that
//	                     used up the last try)
//
// Other status words: 6700 wrong length, 6982 security status not satisfied,
// 6985 conditions of use not satisfied (no application selected), 6A86
// wrong P1 P2, 6D00 instruction not supported, 6E00 class not supported.
// Status words that are not a success become *StatusError, or the typed
// errors below for the PIN.
//
// # Events
//
// A Reader delivers events on a channel given to Run. For each reader the
// sequence is well formed: ReaderAttached, then any number of CardInserted /
// CardRemoved pairs, then ReaderDetached. When the PC/SC service goes away,
// Run sends ServiceUnavailable, then CardRemoved (if a card was present) and
// ReaderDetached for every known reader; when it is back, ServiceRestored,
// then ReaderAttached (and CardInserted) for every reader present.
//
// # Errors
//
// Every error returned by ReadCard and VerifyPIN can be inspected with
// errors.Is and errors.As: ErrNoReader, ErrNoCard, ErrCardRemoved,
// ErrServiceUnavailable, ErrUnsupportedCard, ErrNoSerial, ErrNoResponse,
// ErrPINBlocked, ErrPINFormat, *PINError (wrong PIN, with the attempts
// left), *StatusError (any other status word), and context.DeadlineExceeded
// or context.Canceled when a card stops answering. A card without a
// certificate is not an error: Card.CertificateDER is nil.
//
// # Personal data
//
// PINs are zeroed as soon as they have been sent and are never logged.
// Drivers never log the serial number, the certificate or the HSA-ID.
package cardreader
