package browsertest

import "strings"

// tapCount counts the taps a test makes (issue 13's tap targets): every
// Tap on the screen — buttons, fields, on-screen keyboard and keypad keys —
// and, apart from those, the dev panel's simulated hardware (#dev-…: the
// drawer, the printer), which at a real station is a hand on the hardware,
// not a tap on the screen. Drawing a signature is strokes, not taps.
type tapCount struct {
	screen, hardware int
	log              []string
}

func (c *tapCount) add(sel string) {
	if strings.HasPrefix(sel, "#dev-") {
		c.hardware++
		return
	}
	c.screen++
	c.log = append(c.log, sel)
}

// Taps is the number of taps on the screen since the last ResetTaps.
func (b *Browser) Taps() int { return b.taps.screen }

// HardwareTaps is the number of dev-panel taps (simulated hardware) since
// the last ResetTaps.
func (b *Browser) HardwareTaps() int { return b.taps.hardware }

// TapLog is the selectors tapped on the screen since the last ResetTaps.
func (b *Browser) TapLog() []string { return append([]string(nil), b.taps.log...) }

// ResetTaps starts counting again.
func (b *Browser) ResetTaps() { b.taps = tapCount{} }
