package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
	"github.com/kortstation/kortstation/kiosk/web"
)

// latencyObserver records, in the page, the time from each card event's
// At (when the reader driver learnt of it: GetStatusChange returning, or
// the simulator's insert) to the DOM change that shows it, in
// microseconds. performance.timeOrigin + performance.now() is the page's
// sub-millisecond wall clock; the At's fraction beyond milliseconds is
// added back by hand because Date.parse drops it.
const latencyObserver = `(() => {
  window.__lat = [];
  const el = document.getElementById("card-activity");
  new MutationObserver(() => {
    const now = performance.timeOrigin + performance.now();
    const at = el.dataset.at;
    const m = at.match(/\.(\d+)/);
    let ms = Date.parse(at);
    if (m) ms += Number(("0." + m[1]).slice(0, 12)) * 1000 - Math.floor(Number("0." + m[1]) * 1000);
    window.__lat.push((now - ms) * 1000);
  }).observe(el, { childList: true, characterData: true, subtree: true });
  return true;
})()`

// BenchmarkCardInsertToDOM measures card insertion → UI updated in a real
// Chromium: from the reader event's At to the DOM change, through the
// station's bus, the websocket and the page. It reports p50 and p99 in
// microseconds (our own overhead; pcscd's polling of a real reader comes
// before At and is not ours).
func BenchmarkCardInsertToDOM(b *testing.B) {
	r := newRig(b, workday, seedStation(workday))
	br := browsertest.New(b, browsertest.Sizes[0])
	br.Run("open UI", chromedp.Navigate(kioskURL(b, r.addr, r.dir)))
	br.WaitText("#conn", "Ansluten")
	var ok bool
	br.Run("observe", chromedp.Evaluate(latencyObserver, &ok))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		insert(br, reader1, reserveA)
		br.Run("inserted", pollCount(2*i+1))
		remove(br, reader1)
		br.Run("removed", pollCount(2*i+2))
	}
	b.StopTimer()
	var lat []float64
	br.Run("read latencies", chromedp.Evaluate(`window.__lat`, &lat))
	if len(lat) == 0 {
		b.Fatal("no latencies recorded")
	}
	sort.Float64s(lat)
	b.ReportMetric(lat[len(lat)/2], "p50-µs")
	b.ReportMetric(lat[(len(lat)*99)/100], "p99-µs")
	b.ReportMetric(lat[len(lat)-1], "max-µs")
}

func pollCount(n int) chromedp.Action {
	return chromedp.Poll(fmt.Sprintf(`window.__lat.length >= %d`, n), nil, chromedp.WithPollingInterval(10*time.Millisecond))
}

// BenchmarkCardEventToWebsocket is the server's share of the card
// insertion → UI path: from the reader event's At to the event frame read
// by a websocket client (the station's bus, the web layer, the socket),
// without the browser. p50/p99 in microseconds.
func BenchmarkCardEventToWebsocket(b *testing.B) {
	r := newRig(b, workday, seedStation(workday))
	h := http.Header{}
	h.Set("Origin", "http://"+r.addr)
	// The kiosk's per-boot token, as the kiosk browser presents it.
	tok := strings.TrimPrefix(kioskURL(b, r.addr, r.dir), "http://"+r.addr+"/#k=")
	h.Set("Sec-WebSocket-Protocol", web.Subprotocol+", "+web.TokenPrefix+tok)
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+r.addr+"/ws", h)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	if _, _, err := conn.ReadMessage(); err != nil { // hello
		b.Fatal(err)
	}
	type envelope struct {
		V       int             `json:"v"`
		Type    string          `json:"type"`
		ID      string          `json:"id,omitempty"`
		Payload json.RawMessage `json:"payload,omitempty"`
	}
	send := func(i int, typ, payload string) {
		if err := conn.WriteJSON(envelope{V: 1, Type: typ, ID: strconv.Itoa(i), Payload: json.RawMessage(payload)}); err != nil {
			b.Fatal(err)
		}
	}
	wait := func(topic string) float64 {
		for {
			var e envelope
			if err := conn.ReadJSON(&e); err != nil {
				b.Fatal(err)
			}
			got := time.Now()
			if e.Type != "event" {
				continue
			}
			var ev struct {
				Topic string    `json:"topic"`
				At    time.Time `json:"at"`
			}
			if err := json.Unmarshal(e.Payload, &ev); err != nil {
				b.Fatal(err)
			}
			if ev.Topic == topic {
				return float64(got.Sub(ev.At).Nanoseconds()) / 1000
			}
		}
	}
	var lat []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		send(2*i, "dev.card.insert", fmt.Sprintf(`{"reader":%q,"serial":%q}`, reader1, reserveA))
		lat = append(lat, wait("card.card_inserted"))
		send(2*i+1, "dev.card.remove", fmt.Sprintf(`{"reader":%q}`, reader1))
		lat = append(lat, wait("card.card_removed"))
	}
	b.StopTimer()
	sort.Float64s(lat)
	b.ReportMetric(lat[len(lat)/2], "p50-µs")
	b.ReportMetric(lat[(len(lat)*99)/100], "p99-µs")
}
