package cardreader

import (
	"bytes"
	"strings"
	"testing"
)

// fileTransport serves file through READ BINARY like a card.
func fileTransport(file []byte) Transport {
	return TransportFunc(func(apdu []byte) ([]byte, error) {
		off, n := int(apdu[2])<<8|int(apdu[3]), int(apdu[4])
		switch {
		case off >= len(file):
			return []byte{0x6B, 0x00}, nil
		case off+n > len(file):
			return append(bytes.Clone(file[off:]), 0x62, 0x82), nil
		default:
			return append(bytes.Clone(file[off:off+n]), 0x90, 0x00), nil
		}
	})
}

func TestReadDER(t *testing.T) {
	der := make([]byte, 600)
	der[0], der[1], der[2], der[3] = 0x30, 0x82, 0x02, 0x54 // SEQUENCE of 596 bytes
	for i := 4; i < len(der); i++ {
		der[i] = byte(i)
	}
	t.Run("padded file stops at the DER length", func(t *testing.T) {
		file := append(bytes.Clone(der), bytes.Repeat([]byte{0xFF}, 300)...)
		got, err := NewClient(fileTransport(file)).readDER(0)
		if err != nil || !bytes.Equal(got, der) {
			t.Fatalf("got %d bytes, %v; want the %d DER bytes", len(got), err, len(der))
		}
	})
	t.Run("at an offset", func(t *testing.T) {
		file := append(bytes.Repeat([]byte{0x00}, 0x10), der...)
		got, err := NewClient(fileTransport(file)).readDER(0x10)
		if err != nil || !bytes.Equal(got, der) {
			t.Fatalf("got %d bytes, %v; want the %d DER bytes", len(got), err, len(der))
		}
	})
	t.Run("truncated file", func(t *testing.T) {
		_, err := NewClient(fileTransport(der[:500])).readDER(0)
		if err == nil || !strings.Contains(err.Error(), "ends after 500 of 600") {
			t.Fatalf("got %v, want a truncation error", err)
		}
	})
	t.Run("not DER", func(t *testing.T) {
		_, err := NewClient(fileTransport([]byte{0x04, 0x02, 0x01, 0x02})).readDER(0)
		if err == nil || !strings.Contains(err.Error(), "DER") {
			t.Fatalf("got %v, want a DER error", err)
		}
	})
}

func TestReadFileHonoursWrongLe(t *testing.T) {
	file := bytes.Repeat([]byte{0xAB}, 300)
	calls := 0
	tr := TransportFunc(func(apdu []byte) ([]byte, error) {
		calls++
		off, n := int(apdu[2])<<8|int(apdu[3]), int(apdu[4])
		if off+n > len(file) {
			return []byte{0x6C, byte(len(file) - off)}, nil
		}
		return append(bytes.Clone(file[off:off+n]), 0x90, 0x00), nil
	})
	got, err := NewClient(tr).readFile("EF")
	if err != nil || !bytes.Equal(got, file) {
		t.Fatalf("got %d bytes, %v; want %d", len(got), err, len(file))
	}
}

func TestSerialEncoding(t *testing.T) {
	for _, tt := range []struct {
		serial []byte
		want   string
	}{
		{[]byte("9752269900000000011"), "9752269900000000011"},
		{[]byte{0x97, 0x52, 0x26, 0x99, 0x00, 0x01}, "975226990001"},
	} {
		ti := append([]byte{0x30, byte(5 + len(tt.serial)), 0x02, 0x01, 0x00, 0x04, byte(len(tt.serial))}, tt.serial...)
		tr := TransportFunc(func(apdu []byte) ([]byte, error) {
			if apdu[1] == InsSelect {
				return []byte{0x90, 0x00}, nil
			}
			return fileTransport(ti).Transmit(apdu)
		})
		got, err := NewClient(tr).Serial()
		if err != nil || got != tt.want {
			t.Errorf("Serial(% X) = %q, %v; want %q", tt.serial, got, err, tt.want)
		}
	}
}
