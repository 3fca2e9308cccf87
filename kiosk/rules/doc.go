// Package rules decides what a station may issue, to whom, for how long,
// and why not: every rule in shared/DOMAIN.md (ID-*, AT-*, RC-*, RE-*,
// CP-*, BL-*, AD-*), as pure functions. It does no I/O and reads no clock:
// the time and every registry fact come in as arguments, so the UI, the
// store and sync all ask the same code and get the same answer.
//
// # Flows
//
// One call per flow answers "may this happen now, and what are its dates?":
// IssueReserve, ExtendReserve, ReturnCard, PickupCard and RequestBlock. Each
// takes a JSON-friendly input struct and returns a decision plus an error
// that, when not nil, is a Violations listing every broken rule — not just
// the first — so the UI can show them together. Each *Violation carries the
// rule ID, a message key with Swedish and English text, and the facts.
//
// # Dates
//
// Every date and day count is a calendar date in Europe/Stockholm (see
// package calendar), never a multiple of 24 hours, so results are right
// across daylight-saving changes.
//
// A card valid for N days stops being valid at 00:00 Europe/Stockholm on
// the issue date + N days: the issue date is day 1 and the card is valid
// through the end of day N. A 10-day reserve card issued at 14:00 on
// 2024-03-25 is valid until 2024-04-04 00:00 (through 3 April). The seeds
// justify this reading: 001 gives "max giltighetstid" — a maximum, which
// the card never exceeds this way (it lives at most N×24 hours, ±1 hour
// across a DST change), and 004 has the administrator write the validity
// on the receipt as a date, so validity is whole calendar days. Validity in
// months or years (short-term card 6 months, SIS and company cards 5 years)
// ends the same way, at 00:00 on the issue date + that many months; a day
// missing from the target month becomes its last day (issued 31 August, a
// 6-month card is valid until 00:00 on 28 or 29 February).
//
// "Within 7 months of the issue" (RC-5) means on or before the issue date
// + 7 months, that day included. ID-3 and ID-4 compare an ID document's
// expiry date (the last day it is valid) with the order or issue date + 3
// or 6 months: expiring on that very day is enough.
//
// The receipt deadline (RE-2, "inom 7 dagar från aktivering") follows the
// Swedish way of counting time limits, where the day of the event is not
// counted: the receipt is on time if it reaches the central service before
// 00:00 on the activation date + 8 days, i.e. during the 7th day after the
// activation date. Blocking a card is the harsher mistake, so the deadline
// takes the lenient reading.
//
// Stop windows (CP-3) are minute-precise: start inclusive, end exclusive.
// Pickup deadlines (CP-4, "hämta ut kortet senast 22 januari") are dates,
// that day included.
//
// Working days (CP-2) are Monday to Friday except Swedish public holidays
// and the de-facto non-working eves Midsummer Eve, Christmas Eve and New
// Year's Eve; see calendar.Holidays.
package rules
