package trust_test

import (
	"crypto/x509"
	"slices"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/trust"
	"github.com/kortstation/kortstation/kiosk/trust/trusttest"
)

// benchVerify measures one sign-in's own work at the station: a challenge
// issued and Verify (chain root → intermediate → card, validity, usage,
// revocation in a CRL of 100,000 serials, the signature). The card's
// signing is not timed. It reports the median and p99 in microseconds.
func benchVerify(b *testing.B, alg trusttest.KeyAlg) {
	root := trusttest.NewRoot(b, "SITHS e-id Root CA v2", alg)
	inter := root.Intermediate("SITHS e-id Person HSA-id 3 CA v1", alg)
	now := trusttest.Epoch
	der := trusttest.SignCRLDER(b, inter.Cert, inter.Key, now.Add(-time.Hour), now.Add(23*time.Hour), trusttest.RevokedSerials(100_000)...)
	cert, key := inter.Issue(trusttest.Leaf{HSAID: adminHSAID, Alg: alg})
	clk := &clock.Fixed{T: now}
	// Loading, once per sync: parse the DER (as Store.TrustMaterial does),
	// verify the CRL's signature, index its serials.
	loadStart := time.Now()
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		b.Fatal(err)
	}
	if len(crl.RevokedCertificateEntries) != 100_000 {
		b.Fatalf("CRL holds %d serials, want 100000", len(crl.RevokedCertificateEntries))
	}
	v, err := trust.New(root.PEM(), trust.Material{Intermediates: []*x509.Certificate{inter.Cert}, CRLs: []*x509.RevocationList{crl}}, clk, trust.Options{})
	if err != nil {
		b.Fatal(err)
	}
	load := time.Since(loadStart)
	if r := v.Refused(); len(r) > 0 {
		b.Fatalf("refused: %v", r)
	}
	lat := make([]float64, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		ch, err := v.Challenge("reader-00")
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		signStart := time.Now()
		sig := trusttest.Sign(b, key, ch.Nonce[:])
		signing := time.Since(signStart)
		b.StartTimer()
		if _, err := v.Verify("reader-00", cert, nil, ch.Nonce[:], sig); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, float64(time.Since(start)-signing)/float64(time.Microsecond))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(lat[len(lat)/2], "p50-µs")
	b.ReportMetric(lat[(len(lat)*99)/100], "p99-µs")
	b.ReportMetric(float64(load)/float64(time.Millisecond), "load-ms")
	b.ReportMetric(float64(len(der))/1e6, "crl-MB")
}

func BenchmarkVerifyRSA2048CRL100k(b *testing.B)   { benchVerify(b, trusttest.RSA) }
func BenchmarkVerifyECDSAP256CRL100k(b *testing.B) { benchVerify(b, trusttest.ECDSA) }
