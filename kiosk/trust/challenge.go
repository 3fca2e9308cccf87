package trust

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// ChallengeSize is the length of a challenge in bytes.
const ChallengeSize = 32

// DefaultChallengeTTL is how long a challenge may be answered.
const DefaultChallengeTTL = 2 * time.Minute

// maxChallenges bounds the challenges remembered at once (outstanding and
// recently spent); one binding holds at most one outstanding challenge.
const maxChallenges = 1024

// ErrTooManyChallenges: the table of challenges is full (more readers or
// sessions than a station has).
var ErrTooManyChallenges = errors.New("trust: too many outstanding challenges")

// Challenge is a fresh random value for a card to sign: single use,
// expiring, and bound to the reader or session it was issued for.
type Challenge struct {
	Nonce   [ChallengeSize]byte
	Binding string
	Expires time.Time
}

type issued struct {
	binding string
	expires time.Time
	spent   bool
}

// challenges remembers what this station issued. A spent or expired
// challenge is remembered until a TTL after it expired, so a replay is
// told apart from a challenge never issued; then it is forgotten (and a
// replay is refused as unknown).
type challenges struct {
	mu        sync.Mutex
	ttl       time.Duration
	rand      io.Reader
	byNonce   map[[ChallengeSize]byte]*issued
	byBinding map[string][ChallengeSize]byte
}

func newChallenges(ttl time.Duration, rand io.Reader) *challenges {
	return &challenges{ttl: ttl, rand: rand, byNonce: map[[ChallengeSize]byte]*issued{}, byBinding: map[string][ChallengeSize]byte{}}
}

// purge forgets challenges that expired more than a TTL ago. Holds mu.
func (c *challenges) purge(now time.Time) {
	for n, is := range c.byNonce {
		if now.After(is.expires.Add(c.ttl)) {
			delete(c.byNonce, n)
			if c.byBinding[is.binding] == n {
				delete(c.byBinding, is.binding)
			}
		}
	}
}

// issue makes a challenge for binding; an earlier outstanding challenge of
// the same binding is withdrawn.
func (c *challenges) issue(binding string, now time.Time) (Challenge, error) {
	var ch Challenge
	if binding == "" {
		return ch, errors.New("trust: a challenge needs a binding (reader or session)")
	}
	if _, err := io.ReadFull(c.rand, ch.Nonce[:]); err != nil {
		return ch, fmt.Errorf("trust: challenge: %w", err)
	}
	ch.Binding, ch.Expires = binding, now.Add(c.ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.purge(now)
	if old, ok := c.byBinding[binding]; ok {
		if is := c.byNonce[old]; is != nil && !is.spent {
			delete(c.byNonce, old)
		}
	}
	if len(c.byNonce) >= maxChallenges {
		return Challenge{}, ErrTooManyChallenges
	}
	if _, dup := c.byNonce[ch.Nonce]; dup {
		return Challenge{}, errors.New("trust: challenge: random source repeated itself")
	}
	c.byNonce[ch.Nonce] = &issued{binding: binding, expires: ch.Expires}
	c.byBinding[binding] = ch.Nonce
	return ch, nil
}

// take spends the challenge nonce presented on binding: whatever the
// outcome, it cannot be presented again.
func (c *challenges) take(binding string, nonce []byte, now time.Time) *Error {
	if len(nonce) != ChallengeSize {
		return refuse(ReasonChallengeUnknown, "wrong length")
	}
	key := [ChallengeSize]byte(nonce)
	c.mu.Lock()
	defer c.mu.Unlock()
	is, ok := c.byNonce[key]
	switch {
	case !ok:
		return refuse(ReasonChallengeUnknown, "")
	case is.spent:
		return refuse(ReasonChallengeUsed, "")
	}
	is.spent = true
	if c.byBinding[is.binding] == key {
		delete(c.byBinding, is.binding)
	}
	switch {
	case is.binding != binding:
		return refuse(ReasonChallengeBinding, "")
	case now.After(is.expires):
		return refuse(ReasonChallengeExpired, "")
	}
	return nil
}
