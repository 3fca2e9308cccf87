package protocol_test

import (
	"bytes"
	"testing"

	"github.com/kortstation/kortstation/sync/protocol"
)

func TestDecodeRefusesDamagedBodies(t *testing.T) {
	var buf bytes.Buffer
	if err := protocol.Encode(&buf, protocol.PushResponse{Acks: []protocol.Ack{{Seq: 1, ID: "a", Result: protocol.AckStored}}}); err != nil {
		t.Fatal(err)
	}
	whole := buf.Bytes()
	var ok protocol.PushResponse
	if err := protocol.Decode(bytes.NewReader(whole), true, &ok); err != nil || len(ok.Acks) != 1 {
		t.Fatalf("whole body: %v, %+v", err, ok)
	}
	cases := map[string][]byte{
		"cut in the middle":    whole[:len(whole)/2],
		"gzip trailer missing": whole[:len(whole)-4],
		"checksum wrong":       append(append([]byte{}, whole[:len(whole)-8]...), 0, 0, 0, 0, 0, 0, 0, 0),
		"not gzip":             []byte(`{"acks":[]}`),
		"empty":                nil,
	}
	for name, body := range cases {
		var v protocol.PushResponse
		if err := protocol.Decode(bytes.NewReader(body), true, &v); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
	var v protocol.PushResponse
	if err := protocol.Decode(bytes.NewReader([]byte(`{"acks":[]} {"acks":[]}`)), false, &v); err == nil {
		t.Error("trailing data accepted")
	}
}
