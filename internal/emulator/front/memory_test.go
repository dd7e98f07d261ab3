package front_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"

	"github.com/iotjobs/iotjobs/internal/mochilistener"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// rawSubscribe is an MQTT SUBSCRIBE (packet id 1) to filters at QoS 1.
func rawSubscribe(filters ...string) []byte {
	body := []byte{0, 1}
	for _, f := range filters {
		body = append(body, byte(len(f)>>8), byte(len(f)))
		body = append(body, f...)
		body = append(body, 1)
	}
	return append([]byte{0x82, byte(len(body))}, body...)
}

// memoryPerConnection opens n connections to the broker at addr, which
// runs in this process (subscribed to their thing's notify and notify-next
// when subscribed is set) and returns the bytes of heap and stacks each one
// costs this process, the broker's side and the client's together.
func memoryPerConnection(t testing.TB, addr string, n int, subscribed bool) int64 {
	inUse := func() int64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapInuse + m.StackInuse)
	}
	before := inUse()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	buf := make([]byte, 5)
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		thing := fmt.Sprintf("thing-%d", i)
		packet := rawConnect(thing, 1200)
		if subscribed {
			packet = append(packet, rawSubscribe("$aws/things/"+thing+"/jobs/notify", "$aws/things/"+thing+"/jobs/notify-next")...)
		}
		if _, err := c.Write(packet); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(testutil.DeviceWait))
		want := 4 // CONNACK
		if subscribed {
			want += 4 + 2 // SUBACK with two codes
		}
		if _, err := io.ReadFull(c, buf[:min(want, len(buf))]); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if want > len(buf) {
			if _, err := io.ReadFull(c, make([]byte, want-len(buf))); err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
		}
	}
	return (inUse() - before) / int64(n)
}

// TestIdleConnectionsAreCheap: a connection the broker holds costs at most
// 40 KB (a simulated fleet opens thousands). mochi's defaults cost about
// 90 KB, 64 KB of it an 8192-slot outbound queue per client. What is left
// is mostly the stacks of mochi's two goroutines per client, about 10 KB
// each.
func TestIdleConnectionsAreCheap(t *testing.T) {
	for _, subscribed := range []bool{false, true} {
		per := memoryPerConnection(t, testutil.StartEmulator(t).MQTTAddr(), 1000, subscribed)
		t.Logf("subscribed %v: %d bytes per connection", subscribed, per)
		if per > 40*1024 {
			t.Errorf("subscribed %v: %d bytes per connection, want at most 40 KB", subscribed, per)
		}
	}
}

// BenchmarkConnectionMemory reports the figures at fleet scale, 9,000
// connections (both ends live in this process, and a machine here allows a
// process 20,000 open files), beside its peer: a bare mochi broker (no hook
// but allow-all, the same queue and buffer sizes, behind the listener that
// does not deadlock on Close), the floor of what a mochi client costs.
// go test -run '^$' -bench ConnectionMemory -benchtime 1x ./internal/emulator/front/
func BenchmarkConnectionMemory(b *testing.B) {
	for _, subscribed := range []bool{false, true} {
		b.Run(fmt.Sprintf("emulator/9000-subscribed-%v", subscribed), func(b *testing.B) {
			for range b.N {
				b.ReportMetric(float64(memoryPerConnection(b, testutil.StartEmulator(b).MQTTAddr(), 9000, subscribed)), "bytes/conn")
			}
		})
		b.Run(fmt.Sprintf("bare-mochi/9000-subscribed-%v", subscribed), func(b *testing.B) {
			for range b.N {
				b.ReportMetric(float64(memoryPerConnection(b, bareMochi(b), 9000, subscribed)), "bytes/conn")
			}
		})
	}
}

// bareMochi starts a mochi broker as the emulator configures its queue and
// read buffer, with no hook but allow-all, and returns its address.
func bareMochi(b *testing.B) string {
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumClientWritesPending = 256
	s := mqtt.New(&mqtt.Options{Capabilities: caps, ClientNetReadBufferSize: 1024, Logger: slog.New(slog.DiscardHandler)})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := s.AddListener(mochilistener.New(s, "bare", ln, slog.New(slog.DiscardHandler), mochilistener.Options{})); err != nil {
		b.Fatal(err)
	}
	if err := s.Serve(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return addr
}
