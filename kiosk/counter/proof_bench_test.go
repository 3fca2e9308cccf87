package counter

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/kortstation/kortstation/hw/cardreader/vcard"
	"github.com/kortstation/kortstation/kiosk/trust/trusttest"
)

// BenchmarkLoginProof measures an operator's login on the server once the
// PIN is typed: PIN verified on the card, a fresh challenge signed by the
// card's key, the certificate's chain, validity and usage checked, and its
// serial looked up in a CRL of 100,000 revoked serials; then the session
// recorded. The card is the in-process virtual card of the simulator, so
// its signing time (a P-256 or RSA 2048 signature in Go) is included; it
// is reported apart (sign-µs) to show our own share. p50 and p99 in
// microseconds.
func BenchmarkLoginProof(b *testing.B) {
	for _, alg := range []vcard.KeyAlgorithm{vcard.ECDSAP256, vcard.RSA2048} {
		b.Run(alg.String(), func(b *testing.B) {
			r := newProofRig(b, false, nil)
			r.setCRL(tuesday.Add(-time.Hour), tuesday.AddDate(0, 0, 7), trusttest.RevokedSerials(100_000)...)
			card := r.issue(vcard.Profile{Serial: "9752269900000000911", HSAID: adminHSAID, CommonName: "Test Operatör Ett", PIN: "1234", Key: alg})
			// The card's own signing time, apart: a second card like it in
			// the card reader, PIN verified, signing challenges.
			twin := r.issue(vcard.Profile{Serial: "9752269900000000912", HSAID: adminHSAID, CommonName: "Test Operatör Ett", PIN: "1234", Key: alg})
			r.slots.insert(b, 1, twin)
			cardReader := r.m.opts.CardReader
			for {
				if _, err := r.reader.ReadCard(context.Background(), cardReader); err == nil {
					break
				}
				time.Sleep(time.Millisecond)
			}
			if err := r.reader.VerifyPIN(context.Background(), cardReader, []byte("1234")); err != nil {
				b.Fatal(err)
			}
			var sign []float64
			for range 50 {
				t0 := time.Now()
				if _, err := r.reader.Sign(context.Background(), cardReader, make([]byte, 32)); err != nil {
					b.Fatal(err)
				}
				sign = append(sign, float64(time.Since(t0).Microseconds()))
			}
			r.slots.remove(b, 1)
			slices.Sort(sign)
			lat := make([]float64, 0, b.N)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				r.slots.insert(b, 0, card)
				for r.view().State != StatePIN {
					time.Sleep(200 * time.Microsecond)
				}
				b.StartTimer()
				t0 := time.Now()
				pin, _ := json.Marshal(map[string]string{"pin": "1234"}) // Handle zeroes it
				if _, err := r.m.Handle(context.Background(), "kiosk", "session.pin", pin); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, float64(time.Since(t0).Microseconds()))
				b.StopTimer()
				r.slots.remove(b, 0)
				for r.view().State != StateLocked {
					time.Sleep(200 * time.Microsecond)
				}
				b.StartTimer()
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(lat[len(lat)/2], "p50-µs")
			b.ReportMetric(lat[(len(lat)*99)/100], "p99-µs")
			b.ReportMetric(sign[len(sign)/2], "sign-p50-µs")
		})
	}
}
