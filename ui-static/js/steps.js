// The names the station's server (kiosk/counter) uses for the counter's
// states, the flow kinds, the steps a flow is at and the steps a screen
// asks it to take. The server is authoritative: these values are exactly
// its typed constants (kiosk/counter/steps.go; a test checks that the two
// lists match), and the screens use these names instead of string literals.

// State is view.state: the counter locked, waiting for a PIN, logged in,
// or in use on another screen (the session belongs to the screen that
// logged in; this one shows the lock screen with why).
export const State = Object.freeze({
  Locked: "locked",
  Pin: "pin",
  Ready: "ready",
  Elsewhere: "elsewhere",
});

// Kind is view.flow.kind, the flow started with "flow.start" {kind}.
export const Kind = Object.freeze({
  Issue: "issue", // reserve-card issuance
  Pickup: "pickup", // ordinary card pickup (ID-3), short-term (ID-4), CP-4 voiding
  Return: "return", // reserve card returned (RC-6)
  Extend: "extend", // reserve card extended (RC-5)
  Block: "block", // block request (BL-1)
  StockReceive: "stock_receive", // shipment received
  StockCount: "stock_count", // drawer counted and reconciled
  StockVoid: "stock_void", // card voided (RC-8, CP-4)
  Status: "status", // station status for the operator
  DayList: "daylist", // the day list and history, receipt corrections (RE-3, RC-6)
  Admins: "admins", // the station's administrators and their changes (AD-1, AD-2)
});

// Step is view.flow.step: where the flow is, i.e. what the screen shows.
export const Step = Object.freeze({
  Reason: "reason", // issue: the reason and its validity
  Recipient: "recipient", // issue, pickup: who gets the card
  Identity: "identity", // issue, pickup, extend: ID document or attestors
  Manager: "manager", // pickup (ID-4): the manager present with their own ID
  Card: "card", // issue: the stock card taken from the drawer
  Insert: "insert", // issue, pickup, return, extend: the card into the reader
  Preview: "preview", // the receipt (or the return) before confirming
  Sign: "sign", // the signatures
  Done: "done", // the result
  Void: "void", // pickup: the ordered card past its deadline (CP-4)
  Request: "request", // block: the card and the reason
  Scan: "scan", // stock_receive: the serials of the shipment
  Count: "count", // stock_count: the cards found in the drawer
  Choose: "choose", // stock_void: the card to void
  Show: "show", // status
  List: "list", // daylist: issuances, receipts, reserve cards out, pickups waiting
  Correct: "correct", // daylist: a receipt's correction (RE-3)
});

// Action is the step a screen asks for: "flow.step" {step: Action, data}.
// Several share their name with the Step they belong to.
export const Action = Object.freeze({
  Reason: "reason",
  Recipient: "recipient",
  Document: "document",
  Attestors: "attestors",
  AttestorPin: "attestor_pin", // an attestor's PIN for their own card in the card reader
  Manager: "manager",
  Card: "card",
  Confirm: "confirm",
  Sign: "sign",
  Complete: "complete",
  Reprint: "reprint",
  Void: "void",
  Request: "request",
  Add: "add",
  Commit: "commit",
  Mark: "mark",
  Close: "close",
  Find: "find", // look the person up first: personal, card or order number
  Back: "back", // one step back, keeping what was entered
  Remove: "remove", // stock receive: take a wrong scan off the list
  Search: "search", // daylist: the search and the period
  Correct: "correct", // daylist: correct a receipt (RE-3)
  List: "list", // daylist: back to the list
  NoDocument: "no_document", // pickup: no valid ID document, the manager present (seed 003, ID-6)
  HandIn: "hand_in", // pickup: the old card handed in, to be voided
  ManagerPin: "manager_pin", // admins: the manager's PIN for their own card in the card reader (AD-1)
  NoSignature: "no_signature", // sign: the recipient cannot sign; recorded, an attestor confirms
});
