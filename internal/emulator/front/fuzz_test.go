package front_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/testutil"
)

// FuzzRawMQTT writes arbitrary bytes on a fresh connection to the embedded
// broker: whatever they are, the broker neither crashes nor stops serving,
// and a well-formed client connects right after.
func FuzzRawMQTT(f *testing.F) {
	emu := testutil.StartEmulator(f)
	addr := emu.MQTTAddr()
	f.Add(rawConnect("fuzz", 60))
	f.Add([]byte{0x10, 0xff, 0xff, 0xff, 0x7f})
	f.Add([]byte{0xc0, 0x00})
	f.Add(append(rawConnect("fuzz", 60), 0x30, 0x1a, 0, 0x18, '$', 'a', 'w', 's', '/', 't', 'h', 'i', 'n', 'g', 's', '/', 'x', '/', 'j', 'o', 'b', 's', '/', 'g', 'e', 't', '{', '}'))
	f.Add(append(rawConnect("fuzz", 0), 0x82, 0x07, 0, 1, 0, 2, 'a', '/', 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write(data)
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		_, _ = io.Copy(io.Discard, c)
		c.Close()
		probe := dialRaw(t, addr, "prober", 60) // fails the input without a CONNACK
		probe.Close()
	})
}
