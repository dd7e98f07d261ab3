package devicecmd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// BenchmarkWatchLatency measures, per iteration, the time from a device's
// update of an execution to SUCCEEDED (the PUBLISH of an in-process MQTT
// client) to the notify line read from a running `iotjobs watch`'s stdout:
// broker, jobs engine, notification, watch process and pipe. The peer is
// mosquitto_sub subscribed to the same topic, measured the same way in the
// same run. It reports the median and 90th percentile (ns/op is the mean);
// run it with a fixed count, e.g.
//
//	go test -run '^$' -bench WatchLatency -benchtime 50x ./internal/cli/devicecmd/
func BenchmarkWatchLatency(b *testing.B) {
	for name, opts := range emulators() {
		b.Run(name+"/iotjobs-watch", func(b *testing.B) {
			emu := testutil.StartEmulator(b, opts...)
			p := testutil.StartBinary(b, iotjobs.Path, nil, "watch", "--notify-only", "-t", "thing-1", "--client-id", "thing-1-watch", "-e", emu.Endpoint, "-v")
			p.WaitStderr(b, "* watching ", lineWait)
			measureNotifyLatency(b, emu, p.Line)
		})
		b.Run(name+"/mosquitto_sub", func(b *testing.B) {
			sub, err := exec.LookPath("mosquitto_sub")
			if err != nil {
				b.Skip("no mosquitto_sub: apt-get install mosquitto-clients")
			}
			// Piped, mosquitto_sub's stdout is block-buffered: stdbuf
			// makes it write each line as iotjobs does.
			stdbuf, err := exec.LookPath("stdbuf")
			if err != nil {
				b.Skip("no stdbuf (coreutils)")
			}
			emu := testutil.StartEmulator(b, opts...)
			ep, err := mqttclient.ParseEndpoint(emu.Endpoint)
			if err != nil {
				b.Fatal(err)
			}
			// -d prints the SUBACK and other protocol lines on stdout among
			// the payloads, which are JSON objects: the rest is skipped.
			p := testutil.StartBinary(b, stdbuf, nil, "-oL", sub, "-d", "-h", ep.Host, "-p", strconv.Itoa(ep.Port), "-i", "thing-1-sub", "-q", "1", "-t", jobs.NotifyTopic("thing-1").String())
			payload := func(t testing.TB, d time.Duration) string {
				for {
					if line := p.Line(t, d); strings.HasPrefix(line, "{") {
						return line
					}
				}
			}
			for !strings.Contains(p.Line(b, lineWait), "received SUBACK") {
			}
			measureNotifyLatency(b, emu, payload)
		})
	}
}

// measureNotifyLatency runs b.N updates to SUCCEEDED, each of a job just
// created for thing-1, timing each from the update's PUBLISH to the notify
// line next reads; it reports the median and 90th percentile.
func measureNotifyLatency(b *testing.B, emu *testutil.Emulator, next func(testing.TB, time.Duration) string) {
	device := dialDevice(b, emu.Endpoint)
	latencies := make([]time.Duration, 0, b.N)
	for i := range b.N {
		b.StopTimer() // ns/op is then the mean latency
		jobID := fmt.Sprintf("job-%d", i)
		if _, err := emu.Engine().CreateJob(iotapi.CreateJobInput{JobID: jobID, Targets: []string{"thing-1"}, Document: `{}`}); err != nil {
			b.Fatal(err)
		}
		if line := next(b, lineWait); !strings.Contains(line, jobID) {
			b.Fatalf("the creation's notify: %s", line)
		}
		b.StartTimer()
		start := time.Now()
		updateSucceeded(b, device, jobID)
		line := next(b, lineWait)
		latencies = append(latencies, time.Since(start))
		if !strings.Contains(line, `"jobs":{}`) {
			b.Fatalf("the update's notify: %s", line)
		}
	}
	b.StopTimer()
	slices.Sort(latencies)
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(latencies[len(latencies)*9/10].Microseconds())/1000, "ms-p90")
}

func dialDevice(b *testing.B, endpoint string) *mqttclient.Conn {
	b.Helper()
	ep, err := mqttclient.ParseEndpoint(endpoint)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), lineWait)
	defer cancel()
	c, err := mqttclient.Dial(ctx, mqttclient.Config{Endpoint: ep, ClientID: "thing-1"})
	if err != nil {
		b.Fatal(err)
	}
	// One subscription for the replies to every update: the emulator
	// holds a connection to AWS IoT's 50 subscriptions, and a pair per job
	// would reach it after 25 jobs.
	if err := c.SubscribeReplies(ctx, []string{"$aws/things/thing-1/jobs/+/update/accepted", "$aws/things/thing-1/jobs/+/update/rejected"}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return c
}

func updateSucceeded(b *testing.B, device *mqttclient.Conn, jobID string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), lineWait)
	defer cancel()
	token := "tok-" + jobID
	payload, _ := json.Marshal(jobs.UpdateRequest{Status: jobs.StatusSucceeded, ClientToken: token})
	reply, err := device.Request(ctx, jobs.UpdateTopic("thing-1", jobID), payload, token)
	if err != nil || !reply.Accepted {
		b.Fatalf("update %s: %v %s", jobID, err, reply.Payload)
	}
}
