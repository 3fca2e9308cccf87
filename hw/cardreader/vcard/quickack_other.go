//go:build !linux

package vcard

import "net"

// quickAck is Linux-only; elsewhere delayed ACKs stay as they are.
func quickAck(*net.TCPConn) {}
