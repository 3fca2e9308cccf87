package protocol

// PersonFactsDoc is the registry's document about one person (RC-2..4),
// the Facts of a PersonFacts item: their ordinary cards, open orders and
// reserve cards at every station. For staff without a Swedish personal or
// coordination number the registry keys the document by the order number
// and names the holder by HSA-ID (ID-4). Dates are YYYY-MM-DD, times
// RFC 3339.
type PersonFactsDoc struct {
	HolderHSAID  string            `json:"holder_hsa_id,omitempty"`
	RegularCards []RegularCardFact `json:"regular_cards,omitempty"`
	Orders       []OrderFact       `json:"orders,omitempty"`
	ReserveCards []ReserveCardFact `json:"reserve_cards,omitempty"`
}

// RegularCardFact is one of the person's ordinary cards.
type RegularCardFact struct {
	Serial string `json:"serial"`
	State  string `json:"state,omitempty"` // active, lost, stolen, broken, blocked, …
	Type   string `json:"type,omitempty"`  // card type; sis when empty
}

// OrderFact is one of the person's card orders.
type OrderFact struct {
	ID             string `json:"id,omitempty"`     // order number; the station numbers unnamed orders order-1, order-2 …
	Type           string `json:"type"`             // regular or reserve
	Status         string `json:"status,omitempty"` // open when empty
	Ordered        string `json:"ordered,omitempty"`
	Reason         string `json:"reason,omitempty"` // a reserve order's reason (RC-1)
	CardType       string `json:"card_type,omitempty"`
	CardSerial     string `json:"card_serial,omitempty"` // the produced card, waiting for pickup (ID-3)
	PickupDeadline string `json:"pickup_deadline,omitempty"`
	Station        string `json:"station,omitempty"` // the station that serves the order (pickup); it receives the person's facts
}

// ReserveCardFact is a reserve card the person holds, from any station
// (RC-4).
type ReserveCardFact struct {
	Serial     string `json:"serial"`
	Reason     string `json:"reason,omitempty"`
	ValidUntil string `json:"valid_until,omitempty"`
	Station    string `json:"station,omitempty"`
	State      string `json:"state,omitempty"`
}
