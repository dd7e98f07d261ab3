package front_test

import (
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator/front"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// TestHugePacketIsRefusedBeforeAllocation: five bytes announcing a 256 MB
// packet, sent before CONNECT, close the connection at once and cost no
// memory, and the broker goes on serving.
func TestHugePacketIsRefusedBeforeAllocation(t *testing.T) {
	emu := testutil.StartEmulator(t)
	addr := emu.MQTTAddr()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	conns := make([]net.Conn, 5)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte{0x10, 0xff, 0xff, 0xff, 0x7f}); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(testutil.DeviceWait))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("the broker kept the connection open (read: %v)", err)
		}
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 32<<20 {
		t.Errorf("the heap grew by %d MiB for five announced packets", grown>>20)
	}
	testutil.ConnectDevice(t, emu.Endpoint, "after-the-probe")

	// A packet just under the cap is read; one over it closes the connection.
	dev := testutil.ConnectDevice(t, emu.Endpoint, "big-talker")
	dev.Publish("big/ok", string(make([]byte, 128*1024)))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	remaining := front.MaxPacketSize // remaining length + 1 byte header > the cap
	header := []byte{0x10, byte(remaining&0x7f | 0x80), byte(remaining>>7&0x7f | 0x80), byte(remaining >> 14)}
	if _, err := c.Write(header); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(testutil.DeviceWait))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("a packet over the cap kept the connection open (read: %v)", err)
	}
}
