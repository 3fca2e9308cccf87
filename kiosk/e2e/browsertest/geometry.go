package browsertest

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/chromedp/chromedp"
)

// Box is an element's rectangle in CSS pixels of the viewport.
type Box struct {
	Sel                      string
	Found                    bool
	Left, Top, Right, Bottom float64
	// Covered names the element on top at the box's centre when it is not
	// the element or inside it, or a fixed overlay over any part of it (a
	// toast over a key, say).
	Covered string
}

func (x Box) String() string {
	return fmt.Sprintf("%s [%.0f,%.0f–%.0f,%.0f]", x.Sel, x.Left, x.Top, x.Right, x.Bottom)
}

// Boxes measures the elements matching each selector (the first match),
// after any pending layout.
func (b *Browser) Boxes(sels ...string) []Box {
	b.t.Helper()
	list, _ := jsonString(sels)
	js := fmt.Sprintf(`%s.map((sel) => {
		const e = document.querySelector(sel);
		if (!e) return {Sel: sel, Found: false};
		const r = e.getBoundingClientRect();
		const name = (x) => x.id ? "#" + x.id : x.tagName.toLowerCase() + "." + x.className;
		let covered = "";
		const cx = Math.min(Math.max(r.left + r.width / 2, 0), innerWidth - 1), cy = Math.min(Math.max(r.top + r.height / 2, 0), innerHeight - 1);
		const top = document.elementFromPoint(cx, cy);
		// (An element the pointer passes through, like the toast, is not
		// found by elementFromPoint: it is measured as an overlay below.)
		if (getComputedStyle(e).pointerEvents !== "none" && top && top !== e && !e.contains(top) && !top.contains(e)) covered = name(top);
		// Fixed overlays (a toast, the idle warning) over any part of it.
		for (const o of document.querySelectorAll("body *")) {
			if (covered || o === e || o.contains(e) || e.contains(o) || getComputedStyle(o).position !== "fixed") continue;
			const q = o.getBoundingClientRect();
			if (q.width > 0 && q.height > 0 && q.left < r.right && q.right > r.left && q.top < r.bottom && q.bottom > r.top) covered = name(o);
		}
		return {Sel: sel, Found: true, Left: r.left, Top: r.top, Right: r.right, Bottom: r.bottom, Covered: covered};
	})`, list)
	var out []Box
	b.Run("measure "+strings.Join(sels, ", "), chromedp.Evaluate(js, &out))
	return out
}

// InViewport asserts that every element matching sels is on the page,
// wholly inside the viewport (not below the fold, not scrolled off inside
// its container) and not covered by another element at its centre. It
// reports every failure with the boxes and a screenshot, and goes on.
func (b *Browser) InViewport(what string, sels ...string) {
	b.t.Helper()
	var w, h float64
	var vp [2]float64
	b.Run("viewport", chromedp.Evaluate(`[innerWidth, innerHeight]`, &vp))
	w, h = vp[0], vp[1]
	boxes := b.Boxes(sels...)
	failed := false
	for _, x := range boxes {
		switch {
		case !x.Found:
			b.t.Errorf("%s at %s: %s is not on the screen", what, b.size.Name, x.Sel)
		case x.Top < -0.5 || x.Left < -0.5 || x.Bottom > h+0.5 || x.Right > w+0.5:
			b.t.Errorf("%s at %s: %s is outside the %.0f×%.0f viewport", what, b.size.Name, x, w, h)
		case !visibleInScrollers(b, x.Sel):
			b.t.Errorf("%s at %s: %s is scrolled out of view inside its container", what, b.size.Name, x)
		case x.Covered != "":
			b.t.Errorf("%s at %s: %s is covered by %s", what, b.size.Name, x, x.Covered)
		default:
			continue
		}
		failed = true
	}
	if failed {
		b.Shot("NOT-IN-VIEW-" + what)
	}
}

// visibleInScrollers: the element is inside the visible part of every
// scrolling ancestor (the form scrolls under the docked keyboard), across
// as well as down (nothing cut off at the side, under a scroll bar).
func visibleInScrollers(b *Browser, sel string) bool {
	b.t.Helper()
	var ok bool
	b.Run("in scrollers "+sel, chromedp.Evaluate(fmt.Sprintf(`(() => {
		const e = document.querySelector(%q); const r = e.getBoundingClientRect();
		for (let p = e.parentElement; p; p = p.parentElement) {
			const s = getComputedStyle(p);
			if (!/(auto|scroll|hidden)/.test(s.overflowY)) continue;
			const pr = p.getBoundingClientRect();
			if (r.top < pr.top - 0.5 || r.bottom > pr.bottom + 0.5) return false;
			if (/(auto|scroll|hidden)/.test(s.overflowX) && (r.left < pr.left - 0.5 || r.right > pr.left + p.clientWidth + 0.5)) return false;
		}
		return true;
	})()`, sel), &ok))
	return ok
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
