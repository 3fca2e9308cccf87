package vcard_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/hw/cardreader/vcard"
)

func issue(t *testing.T, p vcard.Profile) *vcard.Card {
	t.Helper()
	ca, err := vcard.NewCA("vcard test CA")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.Issue(p)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return c
}

func send(t *testing.T, c *vcard.Card, apdu ...byte) uint16 {
	t.Helper()
	rsp, err := c.Process(apdu)
	if err != nil {
		t.Fatalf("Process(% X): %v", apdu, err)
	}
	return binary.BigEndian.Uint16(rsp[len(rsp)-2:])
}

var (
	selectApp  = append([]byte{0x00, 0xA4, 0x04, 0x0C, 0x0C}, cardreader.PKCS15AID()...)
	selectCert = []byte{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x43, 0x31}
	mseECDSA   = []byte{0x00, 0x22, 0x41, 0xB6, 0x06, 0x80, 0x01, 0x04, 0x84, 0x01, 0x01}
	psoHash    = append([]byte{0x00, 0x2A, 0x9E, 0x9A, 0x20}, make([]byte, 32)...)
)

func TestATRChecksum(t *testing.T) {
	var x byte
	for _, b := range vcard.ATR()[1:] {
		x ^= b
	}
	if vcard.ATR()[0] != 0x3B || x != 0 {
		t.Errorf("ATR % X: TS %02X, XOR of T0..TCK %02X; want 3B and 00", vcard.ATR(), vcard.ATR()[0], x)
	}
}

func TestStatusWords(t *testing.T) {
	c := issue(t, vcard.Profile{Serial: "1", HSAID: "SE2321000131-P1", PIN: "1234"})
	blank := issue(t, vcard.Profile{Serial: "2", PIN: "1234"})
	tests := []struct {
		name string
		card *vcard.Card
		pre  [][]byte
		apdu []byte
		want uint16
	}{
		{"too short", c, nil, []byte{0x00, 0xA4, 0x04}, 0x6700},
		{"Lc beyond the data", c, nil, []byte{0x00, 0xA4, 0x04, 0x00, 0x06, 0xF0}, 0x6700},
		{"class", c, nil, []byte{0x80, 0xA4, 0x04, 0x00, 0x01, 0x00}, 0x6E00},
		{"instruction", c, [][]byte{selectApp}, []byte{0x00, 0x12, 0x00, 0x00}, 0x6D00},
		{"unknown AID", c, nil, []byte{0x00, 0xA4, 0x04, 0x00, 0x02, 0xA0, 0x00, 0x00}, 0x6A82},
		{"EF.DIR by path from the MF", c, [][]byte{selectApp}, []byte{0x00, 0xA4, 0x08, 0x0C, 0x02, 0x2F, 0x00}, 0x9000},
		{"ODF by path from the MF", c, nil, []byte{0x00, 0xA4, 0x08, 0x0C, 0x04, 0x50, 0x15, 0x50, 0x31}, 0x9000},
		{"a DF is not a child EF", c, nil, []byte{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x50, 0x15}, 0x6A82},
		{"READ BINARY without a file", c, [][]byte{selectApp}, []byte{0x00, 0xB0, 0x00, 0x00, 0x10}, 0x6985},
		{"blank card has no certificate", blank, [][]byte{selectApp}, selectCert, 0x6A82},
		{"READ BINARY past the end", c, [][]byte{selectApp, selectCert}, []byte{0x00, 0xB0, 0x7F, 0x00, 0x10}, 0x6B00},
		{"VERIFY outside the application", c, nil, []byte{0x00, 0x20, 0x00, 0x81}, 0x6A88},
		{"VERIFY wrong length", c, [][]byte{selectApp}, []byte{0x00, 0x20, 0x00, 0x81, 0x02, 0x31, 0x32}, 0x6700},
		{"VERIFY status", c, [][]byte{selectApp}, []byte{0x00, 0x20, 0x00, 0x81}, 0x63C3},
		{"MSE unknown key", c, [][]byte{selectApp}, []byte{0x00, 0x22, 0x41, 0xB6, 0x06, 0x80, 0x01, 0x04, 0x84, 0x01, 0x02}, 0x6A88},
		{"MSE wrong algorithm", c, [][]byte{selectApp}, []byte{0x00, 0x22, 0x41, 0xB6, 0x06, 0x80, 0x01, 0x02, 0x84, 0x01, 0x01}, 0x6A80},
		{"MSE on a blank card", blank, [][]byte{selectApp}, mseECDSA, 0x6A88},
		{"PSO without MSE", c, [][]byte{selectApp}, psoHash, 0x6985},
		{"PSO without the PIN", c, [][]byte{selectApp, mseECDSA}, psoHash, 0x6982},
		{"PSO after the PIN", c, [][]byte{selectApp, mseECDSA, verifyAPDU("1234")}, psoHash, 0x9000},
		{"PSO wrong hash length", c, [][]byte{selectApp, mseECDSA, verifyAPDU("1234")}, []byte{0x00, 0x2A, 0x9E, 0x9A, 0x02, 0x01, 0x02}, 0x6700},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.card.Reset()
			for _, p := range tt.pre {
				send(t, tt.card, p...)
			}
			if got := send(t, tt.card, tt.apdu...); got != tt.want {
				t.Errorf("SW = %04X, want %04X", got, tt.want)
			}
		})
	}
}

func TestReadBinaryEndOfFile(t *testing.T) {
	c := issue(t, vcard.Profile{Serial: "1", HSAID: "SE2321000131-P1", PIN: "1234"})
	send(t, c, selectApp...)
	send(t, c, selectCert...)
	n := len(c.CertificateDER())
	off := n - 5
	rsp, _ := c.Process([]byte{0x00, 0xB0, byte(off >> 8), byte(off), 0x10})
	if len(rsp) != 7 || !bytes.Equal(rsp[5:], []byte{0x62, 0x82}) || !bytes.Equal(rsp[:5], c.CertificateDER()[off:]) {
		t.Errorf("last bytes: got % X, want the file's last 5 bytes and 6282", rsp)
	}
}

func verifyAPDU(pin string) []byte {
	apdu := []byte{0x00, 0x20, 0x00, 0x81, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	copy(apdu[5:], pin)
	return apdu
}

func TestPINCounter(t *testing.T) {
	c := issue(t, vcard.Profile{Serial: "1", PIN: "1234"})
	send(t, c, selectApp...)
	for _, want := range []uint16{0x63C2, 0x63C1, 0x6983, 0x6983} {
		if got := send(t, c, verifyAPDU("9999")...); got != want {
			t.Errorf("wrong PIN: SW %04X, want %04X", got, want)
		}
	}
	if got := send(t, c, verifyAPDU("1234")...); got != 0x6983 {
		t.Errorf("right PIN when blocked: SW %04X, want 6983", got)
	}
	if c.PINRetries() != 0 {
		t.Errorf("PINRetries = %d, want 0", c.PINRetries())
	}
}

func TestRightPINResetsCounter(t *testing.T) {
	c := issue(t, vcard.Profile{Serial: "2", PIN: "1234", MaxRetries: 5})
	send(t, c, selectApp...)
	send(t, c, verifyAPDU("0000")...)
	if got := send(t, c, verifyAPDU("1234")...); got != 0x9000 {
		t.Errorf("right PIN: SW %04X, want 9000", got)
	}
	if got := send(t, c, 0x00, 0x20, 0x00, 0x81); got != 0x9000 {
		t.Errorf("status after the right PIN: SW %04X, want 9000 (verified)", got)
	}
	c.Reset()
	send(t, c, selectApp...)
	if got := send(t, c, 0x00, 0x20, 0x00, 0x81); got != 0x63C5 {
		t.Errorf("status after reset: SW %04X, want 63C5 (counter reset, not verified)", got)
	}
}

func TestBadProfiles(t *testing.T) {
	ca, err := vcard.NewCA("x")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []vcard.Profile{
		{Serial: "", PIN: "1234"},
		{Serial: "1 2", PIN: "1234"},
		{Serial: "1", PIN: "12"},
		{Serial: "1", PIN: "abcd"},
		{Serial: "1", PIN: "1234", MaxRetries: 16},
		{Serial: "1", PIN: "1234", HSAID: "199001011234"},
	} {
		if _, err := ca.Issue(p); err == nil {
			t.Errorf("Issue(%+v) succeeded, want an error", p)
		}
	}
	for _, p := range vcard.DevProfiles() {
		if _, err := ca.Issue(p); err != nil {
			t.Errorf("dev profile %s: %v", p.Serial, err)
		}
	}
}

// TestVPCDFraming plays the driver's side of the vpcd socket protocol
// against Insert: controls, ATR, an APDU, then a pull.
func TestVPCDFraming(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := issue(t, vcard.Profile{Serial: "77", PIN: "1234"})
	conn, err := c.Insert(context.Background(), l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Remove()
	l.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	drv, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	drv.SetDeadline(time.Now().Add(5 * time.Second))
	write := func(p ...byte) {
		t.Helper()
		if _, err := drv.Write(append([]byte{byte(len(p) >> 8), byte(len(p))}, p...)); err != nil {
			t.Fatal(err)
		}
	}
	read := func() []byte {
		t.Helper()
		var hdr [2]byte
		if _, err := io.ReadFull(drv, hdr[:]); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, binary.BigEndian.Uint16(hdr[:]))
		if _, err := io.ReadFull(drv, b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	write(0x01) // power on: no reply
	write(0x04) // get ATR
	if got := read(); !bytes.Equal(got, vcard.ATR()) {
		t.Errorf("ATR = % X, want % X", got, vcard.ATR())
	}
	write(selectApp...)
	if got := read(); !bytes.Equal(got, []byte{0x90, 0x00}) {
		t.Errorf("SELECT = % X, want 9000", got)
	}
	write(0x00, 0xA4, 0x02, 0x0C, 0x02, 0x50, 0x32) // EF.TokenInfo
	read()
	write(0x00, 0xB0, 0x00, 0x00, 0x00)
	if got := read(); !bytes.Contains(got, []byte("77")) || !bytes.HasSuffix(got, []byte{0x62, 0x82}) {
		t.Errorf("READ BINARY EF.TokenInfo = % X, want the serial and 6282", got)
	}

	c.PullOn(func([]byte) bool { return true })
	write(0x00, 0xB0, 0x00, 0x00, 0x00)
	if _, err := drv.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("after the pull: read %v, want EOF (card gone)", err)
	}
	select {
	case <-conn.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after the pull")
	}
	if !errors.Is(conn.Err(), vcard.ErrPulled) {
		t.Errorf("Err() = %v, want ErrPulled", conn.Err())
	}
}
