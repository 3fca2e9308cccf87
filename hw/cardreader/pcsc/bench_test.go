package pcsc_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ebfe/scard"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/hw/cardreader/pcsc"
	"github.com/kortstation/kortstation/hw/cardreader/vcard"
)

func benchCard(b *testing.B) *vcard.Card {
	b.Helper()
	ca, err := vcard.NewCA("bench CA")
	if err != nil {
		b.Fatal(err)
	}
	c, err := ca.Issue(vcard.DevProfiles()[0])
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// nextEvent receives events until one of kind for reader arrives and
// returns it with the time it was received.
func nextEvent(b *testing.B, ch <-chan cardreader.Event, kind cardreader.EventKind, reader string) (cardreader.Event, time.Time) {
	b.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-ch:
			got := time.Now()
			if ev.Kind == kind && ev.Reader == reader {
				return ev, got
			}
		case <-timeout:
			b.Fatalf("no %v on %q within 10 s", kind, reader)
		}
	}
}

// BenchmarkInsertEvent measures the driver's own latency for card events:
// from GetStatusChange returning (Event.At) to the consumer receiving the
// event, for insertions and removals through pcscd + vpcd. ns/op is a whole
// insert + remove cycle, dominated by pcscd's 400 ms polling of vpcd (a USB
// CCID reader notifies at once); the metrics p50-µs, p99-µs and max-µs are
// the driver latency (target: p99 ≤ 2 ms). Run it with -benchtime=Nx.
func BenchmarkInsertEvent(b *testing.B) {
	reader := daemon.ReaderNames()[0]
	card := benchCard(b)
	drv := pcsc.New(pcsc.Config{Logger: testLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan cardreader.Event)
	done := make(chan error, 1)
	go func() { done <- drv.Run(ctx, ch) }()
	b.Cleanup(func() {
		cancel()
		<-done
	})
	nextEvent(b, ch, cardreader.ReaderAttached, reader)

	var lat []time.Duration
	for b.Loop() {
		conn, err := card.Insert(ctx, daemon.CardAddr(0))
		if err != nil {
			b.Fatal(err)
		}
		ev, got := nextEvent(b, ch, cardreader.CardInserted, reader)
		lat = append(lat, got.Sub(ev.At))
		if err := conn.Remove(); err != nil {
			b.Fatal(err)
		}
		ev, got = nextEvent(b, ch, cardreader.CardRemoved, reader)
		lat = append(lat, got.Sub(ev.At))
	}
	reportLatency(b, lat)
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(p float64) float64 {
		i := int(p * float64(len(lat)-1))
		return float64(lat[i]) / float64(time.Microsecond)
	}
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1])/float64(time.Microsecond), "max-µs")
}

// BenchmarkAPDURoundTrip measures one APDU (SELECT EF.ODF) from the
// client through libpcsclite, pcscd, vpcd and TCP to the virtual card and
// back.
func BenchmarkAPDURoundTrip(b *testing.B) {
	reader := daemon.ReaderNames()[1]
	h := newHarness(daemon)
	h.Insert(b, reader, benchCard(b))
	sc, err := scard.EstablishContext()
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Release()
	c, err := sc.Connect(reader, scard.ShareShared, scard.ProtocolAny)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Disconnect(scard.LeaveCard)
	if err := cardreader.NewClient(c).SelectApplication(); err != nil {
		b.Fatal(err)
	}
	selectODF := []byte{0x00, cardreader.InsSelect, cardreader.SelectChildEF, cardreader.SelectNoResponse, 0x02, 0x50, 0x31}
	for b.Loop() {
		rsp, err := c.Transmit(selectODF)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(rsp); n < 2 || rsp[n-2] != 0x90 || rsp[n-1] != 0x00 {
			b.Fatalf("SELECT: response % X", rsp)
		}
	}
}

// BenchmarkReadCard measures Driver.ReadCard: a PC/SC context, a shared
// connection and transaction, the PKCS#15 discovery (EF.DIR, the
// application, EF.ODF, PrKDF, CDF, AODF), EF.TokenInfo, the certificate in
// chunks, the PIN status, and the release.
func BenchmarkReadCard(b *testing.B) {
	reader := daemon.ReaderNames()[1]
	h := newHarness(daemon)
	h.Insert(b, reader, benchCard(b))
	drv := pcsc.New(pcsc.Config{Logger: testLogger()})
	ctx := context.Background()
	for b.Loop() {
		if _, err := drv.ReadCard(ctx, reader); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSign measures Driver.Sign on a virtual card through pcscd +
// vpcd after one VerifyPIN: a PC/SC context, a shared connection and
// transaction, the PKCS#15 discovery, MSE:SET, PSO: COMPUTE DIGITAL
// SIGNATURE (the virtual card's own signing included) and the release.
// Each iteration verifies the PIN again, outside the timer, since Sign
// releases the connection that keeps the card powered. p50-µs is the
// median Sign.
func BenchmarkSign(b *testing.B) {
	for _, alg := range []vcard.KeyAlgorithm{vcard.ECDSAP256, vcard.RSA2048} {
		b.Run(alg.String(), func(b *testing.B) {
			reader := daemon.ReaderNames()[1]
			ca, err := vcard.NewCA("bench CA")
			if err != nil {
				b.Fatal(err)
			}
			p := vcard.DevProfiles()[0]
			p.Key = alg
			card, err := ca.Issue(p)
			if err != nil {
				b.Fatal(err)
			}
			h := newHarness(daemon)
			h.Insert(b, reader, card)
			drv := pcsc.New(pcsc.Config{Logger: testLogger()})
			ctx := context.Background()
			var lat []time.Duration
			for b.Loop() {
				b.StopTimer()
				if err := drv.VerifyPIN(ctx, reader, []byte(p.PIN)); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				began := time.Now()
				if _, err := drv.Sign(ctx, reader, []byte("bench challenge")); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(began))
			}
			reportLatency(b, lat)
		})
	}
}
