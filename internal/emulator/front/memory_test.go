package front_test

import (
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

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

// memoryPerConnection opens n connections to a fresh emulator (subscribed
// to their thing's notify and notify-next when subscribed is set) and
// returns the bytes of heap and stacks each one costs this process, the
// broker's side and the client's together.
func memoryPerConnection(t testing.TB, n int, subscribed bool) int64 {
	emu := testutil.StartEmulator(t)
	addr := emu.MQTTAddr()
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
		per := memoryPerConnection(t, 1000, subscribed)
		t.Logf("subscribed %v: %d bytes per connection", subscribed, per)
		if per > 40*1024 {
			t.Errorf("subscribed %v: %d bytes per connection, want at most 40 KB", subscribed, per)
		}
	}
}

// BenchmarkConnectionMemory reports the figures at fleet scale, 9,000
// connections (both ends live in this process, and a machine here allows a
// process 20,000 open files):
// go test -run '^$' -bench ConnectionMemory -benchtime 1x ./internal/emulator/front/
func BenchmarkConnectionMemory(b *testing.B) {
	for _, subscribed := range []bool{false, true} {
		b.Run(fmt.Sprintf("9000-subscribed-%v", subscribed), func(b *testing.B) {
			for range b.N {
				b.ReportMetric(float64(memoryPerConnection(b, 9000, subscribed)), "bytes/conn")
			}
		})
	}
}
