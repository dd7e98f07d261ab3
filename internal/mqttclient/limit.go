package mqttclient

import (
	"fmt"
	"net"
	"sync/atomic"
)

// MaxPacketSize bounds an MQTT packet the client reads: a reply or a
// notification of AWS IoT is at most 128 KB. paho allocates a packet's
// whole announced length before reading it (paho.mqtt.golang issue 754),
// so a broker announcing 256 MB would cost 256 MB; limitedConn refuses the
// packet when its header arrives.
const MaxPacketSize = 256 * 1024

// PacketTooLargeError is a packet longer than MaxPacketSize.
type PacketTooLargeError struct{ Length int }

func (e *PacketTooLargeError) Error() string {
	return fmt.Sprintf("the server sent a packet of %d bytes; the limit is %d", e.Length, MaxPacketSize)
}

// limitedConn follows the MQTT packets that pass through Read: it reads
// each fixed header's remaining length and fails the connection when a
// packet is longer than max, before paho sees the header.
type limitedConn struct {
	net.Conn
	max int

	inBody   int  // bytes of the current packet's body still to come
	inLength bool // reading the remaining length's bytes
	length   int
	shift    uint
	lenBytes int
	failed   atomic.Pointer[error] // why the connection was failed, read by other goroutines
}

// failure is why limitedConn failed the connection, nil if it did not.
func (c *limitedConn) failure() error {
	if err := c.failed.Load(); err != nil {
		return *err
	}
	return nil
}

func (c *limitedConn) fail(err error) (int, error) {
	c.failed.Store(&err)
	c.Conn.Close()
	return 0, err
}

func (c *limitedConn) Read(p []byte) (int, error) {
	if err := c.failure(); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	for i := 0; i < n; {
		switch {
		case c.inBody > 0:
			skip := min(c.inBody, n-i)
			c.inBody -= skip
			i += skip
		case !c.inLength: // the packet type byte
			c.inLength, c.length, c.shift, c.lenBytes = true, 0, 0, 0
			i++
		default:
			b := p[i]
			i++
			c.length |= int(b&0x7f) << c.shift
			c.shift += 7
			c.lenBytes++
			if b&0x80 != 0 {
				if c.lenBytes == 4 {
					return c.fail(fmt.Errorf("the server sent a malformed packet length"))
				}
				continue
			}
			c.inLength = false
			if c.length > c.max {
				return c.fail(&PacketTooLargeError{Length: c.length})
			}
			c.inBody = c.length
		}
	}
	return n, err
}
