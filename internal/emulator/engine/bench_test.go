package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/iotjobs/iotjobs/internal/iotapi"
)

func benchEngine(b *testing.B, things int) (*Engine, []string) {
	b.Helper()
	e, err := Open(Options{DataPath: filepath.Join(b.TempDir(), "jobs.db")})
	if err != nil {
		b.Fatal(err)
	}
	e.Start()
	b.Cleanup(func() { e.Close() })
	names := make([]string, things)
	for i := range names {
		names[i] = fmt.Sprintf("thing-%05d", i)
	}
	if _, err := e.CreateJob(iotapi.CreateJobInput{JobID: "bench", Targets: names, Document: `{"op":"bench"}`}); err != nil {
		b.Fatal(err)
	}
	return e, names
}

// BenchmarkHandlePublishMixed: devices spread over 1000 things, each
// request a get-pending or (one in four) an IN_PROGRESS update committed to
// a real bbolt file with fsync.
func BenchmarkHandlePublishMixed(b *testing.B) {
	e, names := benchEngine(b, 1000)
	var next atomic.Int64
	b.SetParallelism(16) // many devices at once, as the reads must not queue behind fsyncs
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1)
			name := names[n%int64(len(names))]
			topic, payload := "$aws/things/"+name+"/jobs/get", `{"clientToken":"t"}`
			if n%4 == 0 {
				topic, payload = "$aws/things/"+name+"/jobs/bench/update", `{"status":"IN_PROGRESS","statusDetails":{"n":"1"}}`
			}
			if reply, ok := e.HandlePublish(context.Background(), NewRequest("test-client", topic, []byte(payload))); !ok || len(reply.Payload) == 0 {
				b.Fatalf("no reply to %s", topic)
			}
		}
	})
}

// BenchmarkHandlePublishUpdate is the write path alone: every request is a
// committed update, so the group commit decides the rate.
func BenchmarkHandlePublishUpdate(b *testing.B) {
	e, names := benchEngine(b, 1000)
	var next atomic.Int64
	b.SetParallelism(16) // many devices waiting on commits at once
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			name := names[next.Add(1)%int64(len(names))]
			e.HandlePublish(context.Background(), NewRequest("test-client", "$aws/things/"+name+"/jobs/bench/update", []byte(`{"status":"IN_PROGRESS"}`)))
		}
	})
}

// BenchmarkHandlePublishGetPending is the read path alone.
func BenchmarkHandlePublishGetPending(b *testing.B) {
	e, names := benchEngine(b, 1000)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			name := names[next.Add(1)%int64(len(names))]
			e.HandlePublish(context.Background(), NewRequest("test-client", "$aws/things/"+name+"/jobs/get", nil))
		}
	})
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestMemory100kQueued reports the heap 100,000 queued executions take
// (100 jobs on 1,000 things), after creation and after a restart that loads
// them from the store, and checks that reads stay cheap with them queued.
func TestMemory100kQueued(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 100,000 executions")
	}
	const jobCount, thingCount = 100, 1000
	path := filepath.Join(t.TempDir(), "jobs.db")
	base := heapInUse()
	e, err := Open(Options{DataPath: path})
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, thingCount)
	for i := range names {
		names[i] = fmt.Sprintf("thing-%05d", i)
	}
	for j := range jobCount {
		if _, err := e.CreateJob(iotapi.CreateJobInput{JobID: fmt.Sprintf("job-%03d", j), Targets: names, Document: `{"op":"update","url":"https://example.com/firmware.bin"}`}); err != nil {
			t.Fatal(err)
		}
	}
	created := heapInUse()
	reply, _ := e.HandlePublish(context.Background(), NewRequest("test-client", "$aws/things/thing-00042/jobs/get", nil))
	if want := `"queuedJobs":[{"jobId":"job-000"`; !strings.Contains(string(reply.Payload), want) {
		t.Errorf("get-pending: %s", reply.Payload)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = nil
	afterClose := heapInUse()

	loaded, err := Open(Options{DataPath: path})
	if err != nil {
		t.Fatal(err)
	}
	defer loaded.Close()
	reloaded := heapInUse()
	j, _ := loaded.DescribeJob("job-099")
	if j.JobProcessDetails.NumberOfQueuedThings != thingCount {
		t.Errorf("after reload: %+v", j.JobProcessDetails)
	}
	t.Logf("HeapInuse for %d queued executions: %.1f MiB after CreateJob (%d B each), %.1f MiB after loading from the store (%d B each)",
		jobCount*thingCount,
		float64(created-base)/(1<<20), (created-base)/(jobCount*thingCount),
		float64(reloaded-afterClose)/(1<<20), (reloaded-afterClose)/(jobCount*thingCount))
}

// BenchmarkFailure: each request fails one thing's execution of a job of
// 10,000 things, on a store that does not wait for the disk (so the CPU
// shows). Armed, the job retries failures (up to 10 times) and has an
// abort criterion that is never met: each failure also queues a retry and
// schedules a check of the criteria, a scan of the job's things, at most
// one waiting per job.
func BenchmarkFailure(b *testing.B) {
	for _, armed := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "retry-and-abort"}[armed], func(b *testing.B) {
			e, err := Open(Options{DataPath: ":memory:"})
			if err != nil {
				b.Fatal(err)
			}
			e.Start()
			defer e.Close()
			names := make([]string, 10000)
			for i := range names {
				names[i] = fmt.Sprintf("thing-%05d", i)
			}
			in := iotapi.CreateJobInput{JobID: "bench", Targets: names, Document: `{}`}
			if armed {
				in.JobExecutionsRetryConfig = &iotapi.JobExecutionsRetryConfig{CriteriaList: []iotapi.RetryCriteria{{FailureType: "FAILED", NumberOfRetries: 10}}}
				in.AbortConfig = &iotapi.AbortConfig{CriteriaList: []iotapi.AbortCriteria{{FailureType: "ALL", Action: "CANCEL", ThresholdPercentage: 100, MinNumberOfExecutedThings: 10000}}}
			}
			if _, err := e.CreateJob(in); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				name := names[i%len(names)]
				e.HandlePublish(context.Background(), NewRequest("test-client", "$aws/things/"+name+"/jobs/bench/update", []byte(`{"status":"FAILED"}`)))
			}
		})
	}
}
