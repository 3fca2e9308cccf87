package p11

import (
	"errors"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/kortstation/kortstation/hw/cardreader"
)

func TestMatch(t *testing.T) {
	long := strings.Repeat("R", 70)
	slots := []Slot{
		{ID: 1, Description: "Virtual PCD 00 00"},
		{ID: 2, Description: "Virtual PCD 00 01", TokenPresent: true, TokenLabel: "SITHS (PIN2)"},
		{ID: 3, Description: "Virtual PCD 00 01", TokenPresent: true, TokenLabel: "SITHS (PIN1)"},
		{ID: 4, Description: "Other 00 00 (slot 1)", TokenPresent: true},
		{ID: 5, Description: long[:64], TokenPresent: true},
	}
	for _, tt := range []struct {
		name, reader string
		prefix       bool
		label        string
		want         uint
		wantErr      error
	}{
		{"description is the reader name", "Virtual PCD 00 01", false, "", 2, nil},
		{"token label filter", "Virtual PCD 00 01", false, "PIN1", 3, nil},
		{"label filter finds none", "Virtual PCD 00 01", false, "PIN3", 0, cardreader.ErrNoCard},
		{"slot without a token", "Virtual PCD 00 00", false, "", 0, cardreader.ErrNoCard},
		{"no slot for the reader", "Nope 00 00", false, "", 0, cardreader.ErrNoReader},
		{"exact does not take a longer description", "Other 00 00", false, "", 0, cardreader.ErrNoReader},
		{"prefix takes a longer description", "Other 00 00", true, "", 4, nil},
		{"long reader name cut at 64 bytes", long, false, "", 5, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Match(tt.prefix, tt.label)(tt.reader, slots)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got slot %d, want %d", got, tt.want)
			}
		})
	}
}

func TestRetriesFromFlags(t *testing.T) {
	for _, tt := range []struct {
		flags uint
		fresh int
		want  int
	}{
		{0, 3, 3},
		{0, 0, -1},
		{pkcs11.CKF_USER_PIN_COUNT_LOW, 3, 2},
		{pkcs11.CKF_USER_PIN_COUNT_LOW | pkcs11.CKF_USER_PIN_FINAL_TRY, 3, 1},
		{pkcs11.CKF_USER_PIN_FINAL_TRY, 5, 1},
		{pkcs11.CKF_USER_PIN_LOCKED | pkcs11.CKF_USER_PIN_COUNT_LOW, 3, 0},
	} {
		if got := retriesFromFlags(tt.flags, tt.fresh); got != tt.want {
			t.Errorf("retriesFromFlags(%#x, %d): got %v, want %v", tt.flags, tt.fresh, got, tt.want)
		}
	}
}

func TestWrongPIN(t *testing.T) {
	for _, tt := range []struct {
		flags       uint
		wantRetries int // 0: ErrPINBlocked
	}{
		{0, 2},
		{pkcs11.CKF_USER_PIN_COUNT_LOW, 2},
		{pkcs11.CKF_USER_PIN_FINAL_TRY, 1},
		{pkcs11.CKF_USER_PIN_LOCKED, 0},
	} {
		err := wrongPIN(tt.flags)
		var pe *cardreader.PINError
		switch {
		case tt.wantRetries == 0:
			if !errors.Is(err, cardreader.ErrPINBlocked) {
				t.Errorf("flags %#x: got %v, want ErrPINBlocked", tt.flags, err)
			}
		case !errors.As(err, &pe) || pe.Retries != tt.wantRetries:
			t.Errorf("flags %#x: got %v, want *PINError with %d left", tt.flags, err, tt.wantRetries)
		}
	}
}

func TestMapError(t *testing.T) {
	for _, tt := range []struct {
		rv   uint
		want error
	}{
		{pkcs11.CKR_PIN_LOCKED, cardreader.ErrPINBlocked},
		{pkcs11.CKR_PIN_LEN_RANGE, cardreader.ErrPINFormat},
		{pkcs11.CKR_PIN_INVALID, cardreader.ErrPINFormat},
		{pkcs11.CKR_USER_NOT_LOGGED_IN, cardreader.ErrSecurityStatus},
		{pkcs11.CKR_DEVICE_REMOVED, cardreader.ErrCardRemoved},
		{pkcs11.CKR_TOKEN_NOT_PRESENT, cardreader.ErrCardRemoved},
		{pkcs11.CKR_SESSION_HANDLE_INVALID, cardreader.ErrCardRemoved},
		{pkcs11.CKR_SLOT_ID_INVALID, cardreader.ErrNoReader},
	} {
		err := mapError(pkcs11.Error(tt.rv))
		if !errors.Is(err, tt.want) {
			t.Errorf("mapError(%#x): got %v, want %v", tt.rv, err, tt.want)
		}
		var rv pkcs11.Error
		if !errors.As(err, &rv) || uint(rv) != tt.rv {
			t.Errorf("mapError(%#x): the PKCS#11 code is lost: %v", tt.rv, err)
		}
	}
	other := pkcs11.Error(pkcs11.CKR_DEVICE_ERROR)
	if got := mapError(other); got != other {
		t.Errorf("mapError(CKR_DEVICE_ERROR): got %v, want it unchanged", got)
	}
}

func TestECDSARawToASN1(t *testing.T) {
	for _, tt := range []struct {
		name string
		raw  []byte
		ok   bool
	}{
		{"r‖s", append(append(make([]byte, 31), 1), append(make([]byte, 31), 2)...), true},
		{"odd length", make([]byte, 63), false},
		{"empty", nil, false},
		{"zero half", append(make([]byte, 32), append(make([]byte, 31), 2)...), false},
	} {
		_, err := ecdsaRawToASN1(tt.raw)
		if (err == nil) != tt.ok {
			t.Errorf("%s: got %v, want ok = %v", tt.name, err, tt.ok)
		}
	}
}
