package front_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// BenchmarkMQTTDevicesMixed measures the whole emulator over the wire: many
// devices, each its own MQTT connection over loopback TCP as a distinct
// thing, send get-pending and (one request in four) an IN_PROGRESS update
// committed to a real bbolt file, each waiting for its reply. ns/op is per
// request; req/s is the throughput sustained. The peer run is the same
// engine attached to Mosquitto 2 (attach mode), where every request and
// reply crosses a second broker hop: the ratio of the two is the cost of
// that hop, on the same machine in the same run. The devices run in this
// process too, so they share the two cores with the emulator. It reports
// the median and 99th percentile of the requests' round trips too.
func BenchmarkMQTTDevicesMixed(b *testing.B) {
	b.Run("embedded", func(b *testing.B) {
		benchDevices(b, testutil.StartEmulator(b, testutil.WithDataPath(filepath.Join(b.TempDir(), "jobs.db"))))
	})
	b.Run("mosquitto-attached", func(b *testing.B) {
		benchDevices(b, testutil.StartEmulator(b, testutil.WithDataPath(filepath.Join(b.TempDir(), "jobs.db")), testutil.WithMosquitto()))
	})
}

func benchDevices(b *testing.B, emu *testutil.Emulator) {
	const things = 64
	names := make([]string, things)
	for i := range names {
		names[i] = fmt.Sprintf("bench-thing-%03d", i)
	}
	if _, err := emu.Engine().CreateJob(iotapi.CreateJobInput{JobID: "bench", Targets: names, Document: `{"op":"bench"}`}); err != nil {
		b.Fatal(err)
	}
	endpoint, err := mqttclient.ParseEndpoint(emu.Endpoint)
	if err != nil {
		b.Fatal(err)
	}
	type device struct {
		thing string
		conn  *mqttclient.Conn
	}
	// Connect every device and start its execution before timing.
	devices := make(chan device, things)
	ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
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
	var mu sync.Mutex
	var latencies []time.Duration
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var d device
		select {
		case d = <-devices:
		default:
			return // more goroutines than devices: the others do the work
		}
		var mine []time.Duration
		defer func() {
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
		for n := 0; pb.Next(); n++ {
			token := fmt.Sprint(n)
			topic := jobs.GetPendingTopic(d.thing)
			payload := []byte(`{"clientToken":"` + token + `"}`)
			if n%4 == 3 {
				topic = jobs.UpdateTopic(d.thing, "bench")
				payload = []byte(`{"status":"IN_PROGRESS","clientToken":"` + token + `"}`)
			}
			sent := time.Now()
			reply, err := d.conn.Request(ctx, topic, payload, token)
			if err != nil || !reply.Accepted {
				b.Errorf("request %s: %v %s", topic, err, reply.Payload)
				return
			}
			mine = append(mine, time.Since(sent))
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	if len(latencies) > 0 {
		slices.Sort(latencies)
		b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "ms-p50")
		b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "ms-p99")
	}
}
