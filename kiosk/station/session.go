package station

import "time"

// Operator is the logged-in issuing administrator's session.
type Operator struct {
	SessionID string    `json:"session_id"`
	HSAID     string    `json:"hsa_id"`
	Name      string    `json:"name"`
	Since     time.Time `json:"since"`
}

// Operator returns the logged-in operator, if any.
func (s *Station) Operator() (Operator, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.operator == nil {
		return Operator{}, false
	}
	return *s.operator, true
}

// SetOperator records who is logged in (nil: nobody, the station is
// locked). The drawer policy (RC-7) reads it.
func (s *Station) SetOperator(op *Operator) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if op == nil {
		s.operator = nil
		return
	}
	cp := *op
	s.operator = &cp
}
