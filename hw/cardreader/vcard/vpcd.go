package vcard

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// vpcd control bytes: a one-byte payload from the driver.
const (
	ctrlPowerOff = 0x00
	ctrlPowerOn  = 0x01
	ctrlReset    = 0x02
	ctrlGetATR   = 0x04
)

// Conn is a card inserted into a vpcd reader: a TCP connection from the
// card to the vpcd driver inside pcscd. Closing it removes the card.
type Conn struct {
	card *Card
	nc   *net.TCPConn
	done chan struct{}

	mu  sync.Mutex
	err error
}

// Insert inserts the card into the vpcd reader listening at addr (for
// example "127.0.0.1:35963" for "Virtual PCD 00 00"): it dials the driver
// and answers its requests until Remove is called, ctx is done, or the
// driver closes the connection (pcscd stopped). The protocol, both ways: a
// 2-byte big-endian length, then the payload. A 1-byte payload from vpcd
// is a control (00 power off, 01 power on, 02 reset, 04 get ATR; only 04
// is answered); a longer one is a command APDU, answered with the response
// APDU.
func (c *Card) Insert(ctx context.Context, addr string) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("vcard: insert into vpcd at %s: %w", addr, err)
	}
	conn := &Conn{card: c, nc: nc.(*net.TCPConn), done: make(chan struct{})}
	go conn.serve()
	stop := context.AfterFunc(ctx, func() { conn.nc.Close() })
	go func() {
		<-conn.done
		stop()
	}()
	return conn, nil
}

// Remove takes the card out of the reader (closes the connection) and
// waits until the connection has ended.
func (c *Conn) Remove() error {
	err := c.nc.Close()
	<-c.done
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Done is closed when the card has left the reader, for whatever reason.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended: nil while it lasts or after
// Remove, ErrPulled after a pull, ErrStalled after a stall, io.EOF if the
// driver closed it.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *Conn) serve() {
	defer close(c.done)
	err := c.loop()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
	c.nc.Close()
	c.card.Reset() // out of the reader: unpowered
}

func (c *Conn) loop() error {
	var hdr [2]byte
	buf := make([]byte, 0, 512)
	for {
		// vpcd sends length and payload in two writes with Nagle on: ask
		// for an immediate ACK before each read, or every exchange stalls
		// for the delayed-ACK timer (~40 ms).
		quickAck(c.nc)
		if _, err := io.ReadFull(c.nc, hdr[:]); err != nil {
			return err
		}
		n := int(binary.BigEndian.Uint16(hdr[:]))
		if cap(buf) < n {
			buf = make([]byte, 0, n)
		}
		payload := buf[:n]
		quickAck(c.nc)
		if _, err := io.ReadFull(c.nc, payload); err != nil {
			return err
		}
		var reply []byte
		switch {
		case n == 0:
			continue
		case n == 1:
			switch payload[0] {
			case ctrlPowerOff, ctrlPowerOn, ctrlReset:
				c.card.Reset()
				continue
			case ctrlGetATR:
				reply = c.card.ATR()
			default:
				continue
			}
		default:
			rsp, err := c.card.Process(payload)
			clear(payload) // it may have held a PIN
			if errors.Is(err, ErrStalled) {
				// Mute: answer nothing more until the connection ends.
				_, _ = io.Copy(io.Discard, c.nc)
				return err
			}
			if err != nil {
				return err
			}
			reply = rsp
		}
		frame := make([]byte, 2+len(reply))
		binary.BigEndian.PutUint16(frame, uint16(len(reply)))
		copy(frame[2:], reply)
		if _, err := c.nc.Write(frame); err != nil {
			return err
		}
	}
}
