package p15_test

import (
	"bytes"
	"testing"

	"github.com/kortstation/kortstation/hw/cardreader/internal/p15"
)

// tlv builds a DER element by hand (short and one-byte long lengths), so
// the parsers are checked against bytes written from the standard, not
// against their own encoder.
func tlv(tag byte, parts ...[]byte) []byte {
	body := bytes.Join(parts, nil)
	switch {
	case len(body) < 0x80:
		return append([]byte{tag, byte(len(body))}, body...)
	default:
		return append([]byte{tag, 0x81, byte(len(body))}, body...)
	}
}

func b(x ...byte) []byte { return x }

func TestParseHandWrittenFiles(t *testing.T) {
	// EF.DIR: another application, then PKCS#15 with label and path.
	dir := append(tlv(0x61, tlv(0x4F, b(0xA0, 0, 0, 0, 1))),
		tlv(0x61, tlv(0x4F, p15.AID), tlv(0x50, []byte("SITHS")), tlv(0x51, b(0x3F, 0x00, 0x50, 0x15)))...)
	dir = append(dir, 0x00, 0x00)
	apps, err := p15.ParseDir(dir)
	if err != nil || len(apps) != 2 || !bytes.Equal(apps[1].AID, p15.AID) || apps[1].Label != "SITHS" ||
		!bytes.Equal(apps[1].Path, b(0x3F, 0x00, 0x50, 0x15)) {
		t.Fatalf("ParseDir: got %+v, %v", apps, err)
	}

	odf := append(tlv(0xA8, tlv(0x30, tlv(0x04, b(0x3F, 0x00, 0x50, 0x15, 0x44, 0x01)))),
		tlv(0xA0, tlv(0x30, tlv(0x04, b(0x44, 0x02))))...)
	odf = append(odf, 0xFF, 0xFF)
	paths, err := p15.ParseODF(odf)
	if err != nil || len(paths[p15.ODFAuthObjects]) != 1 || !bytes.Equal(paths[p15.ODFPrivateKeys][0].Path, b(0x44, 0x02)) {
		t.Fatalf("ParseODF: got %+v, %v", paths, err)
	}

	// PrKDF: a non-repudiation RSA key, then an EC authentication key.
	nonRep := tlv(0x30,
		tlv(0x30, tlv(0x0C, []byte("Sign")), tlv(0x03, b(0x07, 0x80)), tlv(0x04, b(0x02))),
		tlv(0x30, tlv(0x04, b(0x46)), tlv(0x03, b(0x06, 0x00, 0x40)), tlv(0x01, b(0xFF)), tlv(0x02, b(0x02))),
		tlv(0xA1, tlv(0x30, tlv(0x30, tlv(0x04, b(0x4B, 0x02))), tlv(0x02, b(0x08, 0x00)))))
	auth := tlv(0xA0,
		tlv(0x30, tlv(0x0C, []byte("Auth")), tlv(0x04, b(0x01))),
		tlv(0x30, tlv(0x04, b(0x45)), tlv(0x03, b(0x05, 0x20)), tlv(0x02, b(0x01))),
		tlv(0xA1, tlv(0x30, tlv(0x30, tlv(0x04, b(0x4B, 0x01))))))
	keys, err := p15.ParsePrKDF(append(nonRep, auth...))
	if err != nil || len(keys) != 2 {
		t.Fatalf("ParsePrKDF: got %+v, %v", keys, err)
	}
	if k := keys[0]; k.Type != p15.KeyRSA || k.ModulusLength != 2048 || k.Key.KeyReference != 2 ||
		k.Key.Usage.At(p15.UsageNonRepudiation) != 1 || !bytes.Equal(k.Common.AuthID, b(0x02)) {
		t.Errorf("RSA key: got %+v", k)
	}
	if k := keys[1]; k.Type != p15.KeyEC || k.Key.KeyReference != 1 || k.Key.Usage.At(p15.UsageSign) != 1 ||
		!bytes.Equal(k.Key.ID, b(0x45)) || !bytes.Equal(k.Common.AuthID, b(0x01)) || k.Common.Label != "Auth" {
		t.Errorf("EC key: got %+v", k)
	}

	// CDF: one certificate by path (relative, with an offset), one direct.
	cdf := append(tlv(0x30,
		tlv(0x30, tlv(0x0C, []byte("Auth"))),
		tlv(0x30, tlv(0x04, b(0x45))),
		tlv(0xA1, tlv(0x30, tlv(0x30, tlv(0x04, b(0x43, 0x31)), tlv(0x02, b(0x10)))))),
		tlv(0x30,
			tlv(0x30),
			tlv(0x30, tlv(0x04, b(0x47)), tlv(0x01, b(0xFF))),
			tlv(0xA1, tlv(0x30, tlv(0xA0, b(0x30, 0x00)))))...)
	certs, err := p15.ParseCDF(cdf)
	if err != nil || len(certs) != 2 {
		t.Fatalf("ParseCDF: got %+v, %v", certs, err)
	}
	if c := certs[0]; !bytes.Equal(c.Cert.ID, b(0x45)) || !bytes.Equal(c.Path.Path, b(0x43, 0x31)) || c.Path.Index != 0x10 {
		t.Errorf("certificate by path: got %+v", c)
	}
	if c := certs[1]; !c.Cert.Authority || !bytes.Equal(c.Direct, b(0x30, 0x00)) {
		t.Errorf("direct certificate: got %+v", c)
	}

	// AODF: a local, padded ASCII PIN with reference 81 and pad FF.
	aodf := tlv(0x30,
		tlv(0x30, tlv(0x0C, []byte("PIN")), tlv(0x03, b(0x06, 0xC0))),
		tlv(0x30, tlv(0x04, b(0x01))),
		tlv(0xA1, tlv(0x30,
			tlv(0x03, b(0x02, 0x4C)), // local, initialized, needs-padding
			tlv(0x0A, b(0x01)),       // ascii-numeric
			tlv(0x02, b(0x04)), tlv(0x02, b(0x08)), tlv(0x02, b(0x08)),
			tlv(0x80, b(0x00, 0x81)),
			tlv(0x04, b(0xFF)),
			tlv(0x30, tlv(0x04, b(0x3F, 0x00, 0x50, 0x15))))))
	pins, err := p15.ParseAODF(aodf)
	if err != nil || len(pins) != 1 {
		t.Fatalf("ParseAODF: got %+v, %v", pins, err)
	}
	a := pins[0].Attrs
	if a.Reference != 0x81 || a.StoredLength != 8 || a.MinLength != 4 || a.MaxLength != 8 || a.Type != p15.PINTypeASCIINumeric ||
		!bytes.Equal(a.PadChar, b(0xFF)) || a.Flags.At(p15.PINLocal) != 1 || a.Flags.At(p15.PINNeedsPadding) != 1 ||
		!bytes.Equal(pins[0].Auth.AuthID, b(0x01)) {
		t.Errorf("PIN: got %+v", pins[0])
	}

	ti, err := p15.ParseTokenInfo(tlv(0x30, tlv(0x02, b(0x00)), tlv(0x04, b(0x97, 0x52, 0x26)), tlv(0x0C, []byte("X")), tlv(0x03, b(0x00))))
	if err != nil || !bytes.Equal(ti.SerialNumber, b(0x97, 0x52, 0x26)) {
		t.Errorf("ParseTokenInfo: got %+v, %v", ti, err)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	k := p15.PrivateKey{Type: p15.KeyRSA, Common: p15.CommonObjectAttributes{Label: "A", AuthID: b(1)},
		Key:  p15.CommonKeyAttributes{ID: b(0x45), Usage: p15.Flags(p15.UsageSign), KeyReference: 0},
		Path: p15.Path{Path: b(0x4B, 0x01)}, ModulusLength: 2048}
	got, err := p15.ParsePrKDF(p15.EncodePrivateKey(k))
	if err != nil || len(got) != 1 || got[0].Key.KeyReference != 0 || got[0].ModulusLength != 2048 || got[0].Type != p15.KeyRSA {
		t.Errorf("round trip: got %+v, %v; want key reference 0 kept", got, err)
	}
}

func TestBadInput(t *testing.T) {
	for name, f := range map[string]func() error{
		"truncated ODF":   func() error { _, err := p15.ParseODF(b(0xA8, 0x0A, 0x30)); return err },
		"PrKDF two parts": func() error { _, err := p15.ParsePrKDF(tlv(0x30, tlv(0x30), tlv(0x30))); return err },
		"CDF no value": func() error {
			_, err := p15.ParseCDF(tlv(0x30, tlv(0x30), tlv(0x30, tlv(0x04, b(1))), tlv(0xA1, tlv(0x30))))
			return err
		},
		"AODF bad attrs": func() error {
			_, err := p15.ParseAODF(tlv(0x30, tlv(0x30), tlv(0x30), tlv(0xA1, tlv(0x30))))
			return err
		},
	} {
		if err := f(); err == nil {
			t.Errorf("%s: got no error, want one", name)
		}
	}
}
