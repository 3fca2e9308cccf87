// Package cardreader is the station's view of a PC/SC card reader: the
// events it raises (readers attached and detached, cards inserted and
// removed, the PC/SC service lost and restored), the card data the station
// reads (ATR, serial number, holder certificate with the HSA-ID), PIN
// verification on the card, and a signature by the card's private key over
// a challenge (proof that the card holds the key of its certificate), with
// status words mapped to typed errors.
//
// The package has no cgo. The real driver lives in the sibling package pcsc
// (pcscd through github.com/ebfe/scard); the simulator used by `make run` and
// the UI tests lives in sim; cards that need a vendor PKCS#11 module are
// read through p11 (cgo, over pcsc for the events); the virtual card that
// backs both the simulator and the integration tests lives in vcard; the
// contract suite that every Reader must pass lives in readertest.
//
// # The card profile: ISO/IEC 7816-15 (PKCS#15)
//
// SITHS cards carry a PKCS#15 application. Its protocol is implemented
// once, by Client, over any Transport (a function that sends one command
// APDU and returns the response APDU), so the real driver and the
// simulator run the same code. All APDUs are ISO/IEC 7816-4 short APDUs
// with CLA 00. Discovery, once per operation:
//
//	SELECT MF, EF.DIR     00 A4 00 0C 02 3F 00; 00 A4 02 0C 02 2F 00
//	READ BINARY           00 B0 OH OL LE, in chunks of ChunkSize until
//	                      6282 (end of file), 6B00 (offset beyond the end)
//	                      or a short chunk; 6Cxx is retried with LE = xx
//	                      EF.DIR lists the application templates (tag 61);
//	                      the one with AID A0 00 00 00 63 "PKCS-15" is used.
//	                      Without EF.DIR the AID is selected directly.
//	SELECT application    00 A4 04 0C 0C A0 00 00 00 63 50 4B 43 53 2D 31 35
//	                      6A82: ErrUnsupportedCard
//	SELECT + READ EF.ODF  5031: paths of the PrKDF [0], CDF [4], AODF [8]
//	SELECT + READ         each directory file by its path: a file ID (P1
//	                      02), an absolute path from 3F00 (P1 08) or a
//	                      longer relative path (P1 09)
//
// From the directories the client picks the holder's authentication key
// (a PrKDF key that may sign and is not a non-repudiation key; else the
// first that may sign), the certificate with the same iD in the CDF, and
// the PIN whose authId the key names in its common attributes (else the
// first user PIN of the AODF). Then:
//
//	EF.TokenInfo 5032     serialNumber: printable ASCII as it is, other
//	                      bytes (BCD) as hex digits — Card.Serial (RC-9)
//	certificate           the CDF's path (and offset), read to the end of
//	                      its DER; none on a blank card: not an error
//	VERIFY (status)       00 20 00 P2; P2 = the AODF's pinReference (with
//	                      80 set for a local PIN); 63Cx x attempts left,
//	                      6983 blocked, 9000 already verified
//	VERIFY                00 20 00 P2 Lc PIN; padded with the AODF's
//	                      padChar to its storedLength when it asks for
//	                      padding (flag needs-padding or a padChar)
//	MSE:SET               00 22 41 B6 06 80 01 ALG 84 01 KEYREF; KEYREF
//	                      from the PrKDF, ALG AlgRSAPKCS1DigestInfo (02)
//	                      or AlgECDSAPlainHash (04) by the key's type
//	PSO: COMPUTE DIGITAL  00 2A 9E 9A Lc DATA 00; DATA is the DigestInfo of
//	SIGNATURE             SHA-256(challenge) for RSA, SHA-256(challenge)
//	                      for ECDSA (answer r‖s, turned into ASN.1 DER);
//	                      6982: ErrSecurityStatus (PIN not verified)
//
// Every operation selects the application again before VERIFY, MSE and
// PSO. The PIN stays verified for the card session: until the card is
// reset or leaves the reader (drivers release cards with LEAVE_CARD).
// Status words that are not a success become *StatusError, or the typed
// errors below.
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
// Every error returned by ReadCard, VerifyPIN and Sign can be inspected
// with errors.Is and errors.As: ErrNoReader, ErrNoCard, ErrCardRemoved,
// ErrServiceUnavailable, ErrUnsupportedCard, ErrNoSerial, ErrNoResponse,
// ErrPINBlocked, ErrPINFormat, ErrSecurityStatus, ErrNoKey, *PINError
// (wrong PIN, with the attempts left), *StatusError (any other status
// word), and context.DeadlineExceeded or context.Canceled when a card
// stops answering. A card without a
// certificate is not an error: Card.CertificateDER is nil.
//
// # Personal data
//
// PINs are zeroed as soon as they have been sent and are never logged.
// Drivers never log the serial number, the certificate, the HSA-ID, the
// challenge or the signature.
package cardreader
