package emulator_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator"
	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
)

// BenchmarkMQTTDevicesMixed measures the whole emulator over the wire: many
// devices, each its own MQTT connection over loopback TCP as a distinct
// thing, send get-pending and (one request in four) an IN_PROGRESS update
// committed to a real bbolt file, each waiting for its reply. ns/op is per
// request; req/s is the throughput the emulator sustained.
func BenchmarkMQTTDevicesMixed(b *testing.B) {
	const things = 64
	emu, err := emulator.Start(b.Context(), emulator.Config{
		MQTTAddr: "127.0.0.1:0", DataPath: filepath.Join(b.TempDir(), "jobs.db"),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { emu.Close() })
	names := make([]string, things)
	for i := range names {
		names[i] = fmt.Sprintf("bench-thing-%03d", i)
	}
	if _, err := emu.Engine().CreateJob(emulator.CreateJobInput{JobID: "bench", Targets: names, Document: `{"op":"bench"}`}); err != nil {
		b.Fatal(err)
	}
	endpoint, err := mqttclient.ParseEndpoint("mqtt://" + emu.MQTTAddr())
	if err != nil {
		b.Fatal(err)
	}
	// Connect every device and start its execution before timing.
	type device struct {
		thing string
		conn  *mqttclient.Conn
	}
	devices := make(chan device, things)
	ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
	defer cancel()
	for _, name := range names {
		conn, err := mqttclient.Dial(ctx, mqttclient.Config{Endpoint: endpoint, ClientID: name, Trace: func(string, ...any) {}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(conn.Close)
		if _, err := conn.Request(ctx, jobs.StartNextTopic(name), []byte(`{"clientToken":"s"}`), "s"); err != nil {
			b.Fatal(err)
		}
		devices <- device{name, conn}
	}
	// One goroutine per device: RunParallel starts parallelism*GOMAXPROCS.
	b.SetParallelism(max(1, things/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var d device
		select {
		case d = <-devices:
		default:
			return // more goroutines than devices: the others do the work
		}
		for n := 0; pb.Next(); n++ {
			token := fmt.Sprint(n)
			topic := jobs.GetPendingTopic(d.thing)
			payload := []byte(`{"clientToken":"` + token + `"}`)
			if n%4 == 3 {
				topic = jobs.UpdateTopic(d.thing, "bench")
				payload = []byte(`{"status":"IN_PROGRESS","clientToken":"` + token + `"}`)
			}
			reply, err := d.conn.Request(ctx, topic, payload, token)
			if err != nil || !reply.Accepted {
				b.Errorf("request %s: %v %s", topic, err, reply.Payload)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
