package counter

import "slices"

// Kind is a flow run at the counter. ui-static/js/steps.js mirrors these
// names.
type Kind string

// The flows.
const (
	KindIssue        Kind = "issue"         // reserve-card issuance
	KindPickup       Kind = "pickup"        // ordinary card pickup (ID-3, ID-4), CP-4 voiding
	KindReturn       Kind = "return"        // reserve card returned (RC-6)
	KindExtend       Kind = "extend"        // reserve card extended (RC-5)
	KindBlock        Kind = "block"         // block request (BL-1)
	KindStockReceive Kind = "stock_receive" // shipment received
	KindStockCount   Kind = "stock_count"   // drawer counted and reconciled
	KindStockVoid    Kind = "stock_void"    // card voided (RC-8, CP-4)
	KindStatus       Kind = "status"        // station status for the operator
	KindDayList      Kind = "daylist"       // the day list and history, receipt corrections (RE-3, RC-6)
	KindAdmins       Kind = "admins"        // the station's administrators and their changes (AD-1, AD-2)
)

// Step is where a flow is: the screen it shows.
type Step string

// The steps.
const (
	StepReason    Step = "reason"    // issue: choose the reason (RC-1)
	StepRecipient Step = "recipient" // issue, pickup: who the card is for
	StepIdentity  Step = "identity"  // ID document or attestors (ID-1..6, AT-1..3)
	StepManager   Step = "manager"   // pickup without a Swedish number: the manager present (ID-4)
	StepCard      Step = "card"      // issue: the card taken from the drawer (RC-7, RC-9)
	StepInsert    Step = "insert"    // the card goes into the card reader
	StepPreview   Step = "preview"   // the receipt (or return) read before signing
	StepSign      Step = "sign"      // every signature (RE-1)
	StepDone      Step = "done"      // the result
	StepVoid      Step = "void"      // pickup past its deadline: void the card (CP-4)
	StepRequest   Step = "request"   // block: card and reason (BL-1)
	StepScan      Step = "scan"      // stock receive: cards read in
	StepCount     Step = "count"     // stock count: cards seen
	StepChoose    Step = "choose"    // stock void: the card to void
	StepShow      Step = "show"      // status
	StepList      Step = "list"      // daylist: the station's issuances, receipts, cards out, pickups waiting
	StepCorrect   Step = "correct"   // daylist: a receipt's correction typed in (RE-3)
)

// Action is what a screen asks the flow to do (flow.step's "step").
type Action string

// The actions.
const (
	ActReason      Action = "reason"
	ActRecipient   Action = "recipient"
	ActDocument    Action = "document"
	ActAttestors   Action = "attestors"
	ActAttestorPIN Action = "attestor_pin" // an attestor's PIN for their card in the card reader
	ActManager     Action = "manager"
	ActCard        Action = "card"
	ActConfirm     Action = "confirm"
	ActSign        Action = "sign"
	ActComplete    Action = "complete"
	ActReprint     Action = "reprint"
	ActVoid        Action = "void"
	ActRequest     Action = "request"
	ActAdd         Action = "add"
	ActCommit      Action = "commit"
	ActMark        Action = "mark"
	ActClose       Action = "close"        // leave a flow (any step)
	ActFind        Action = "find"         // look the person up first: personal, card or order number (lookup.go)
	ActBack        Action = "back"         // one step back, keeping what was entered (back.go)
	ActRemove      Action = "remove"       // stock receive: take a wrong scan off the list
	ActSearch      Action = "search"       // daylist: the search and the period
	ActCorrect     Action = "correct"      // daylist: correct a receipt (RE-3)
	ActList        Action = "list"         // daylist: back to the list
	ActNoDocument  Action = "no_document"  // pickup: no valid ID document, the manager present (seed 003, ID-6)
	ActHandIn      Action = "hand_in"      // pickup: the old card handed in, to be voided
	ActManagerPIN  Action = "manager_pin"  // admins: the manager's PIN for their own card in the card reader (AD-1)
	ActNoSignature Action = "no_signature" // sign: the recipient cannot sign; recorded, an attestor confirms (nosign.go)
)

// State is the counter's state as a screen sees it.
type State string

// The states.
const (
	StateLocked    State = "locked"    // nobody logged in
	StatePIN       State = "pin"       // a login waits for its PIN
	StateReady     State = "ready"     // an operator is logged in
	StateElsewhere State = "elsewhere" // the session or login belongs to another screen
)

// flowSteps are the steps each flow kind walks through in order, for the
// step indicator ("Steg 3 av 7"). The done step is not counted: it is the
// result, not a step to take. A flow's own detours (pickup's manager step,
// needed only for staff without a Swedish number; its CP-4 void) are left
// out unless the flow takes them (progressOf).
var flowSteps = map[Kind][]Step{
	KindIssue:        {StepReason, StepRecipient, StepIdentity, StepCard, StepInsert, StepPreview, StepSign},
	KindPickup:       {StepRecipient, StepIdentity, StepManager, StepCard, StepInsert, StepPreview, StepSign},
	KindExtend:       {StepInsert, StepIdentity, StepPreview, StepSign},
	KindReturn:       {StepInsert, StepPreview},
	KindBlock:        {StepRequest},
	KindStockReceive: {StepScan},
	KindStockCount:   {StepCount},
	KindStockVoid:    {StepChoose},
	KindStatus:       {StepShow},
}

// progressOf is where f is among its kind's steps: the step's number
// (from 1) and how many there are; 0, n at a step not in the list (done,
// or a detour).
func progressOf(f *flowState) (index, count int) {
	steps := flowSteps[f.kind]
	if f.kind == KindPickup && !needsManager(f) {
		steps = slices.DeleteFunc(slices.Clone(steps), func(s Step) bool { return s == StepManager })
	}
	return slices.Index(steps, f.step) + 1, len(steps)
}

// needsManager: pickup for staff without a Swedish personal or
// coordination number, found by HSA-ID, needs their manager present (ID-4).
func needsManager(f *flowState) bool {
	return f.recipient.PersonalNumber.IsZero() && !f.recipient.HSAID.IsZero()
}
