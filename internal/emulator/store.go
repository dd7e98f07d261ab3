package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/iotjobs/iotjobs/internal/jobs"
)

// jobRecord is a job as stored. Its status is not stored: CANCELED follows
// from Canceled, COMPLETED from the executions, so finishing the last
// execution never has to write the job record (see job.status).
type jobRecord struct {
	ID                string   `json:"id"`
	Seq               uint64   `json:"seq"` // creation order
	Targets           []string `json:"targets"`
	Document          string   `json:"document"`
	Description       string   `json:"description,omitempty"`
	InProgressTimeout int64    `json:"inProgressTimeoutInMinutes,omitempty"`
	Canceled          bool     `json:"canceled,omitempty"`
	ForceCanceled     bool     `json:"forceCanceled,omitempty"`
	Comment           string   `json:"comment,omitempty"`
	ReasonCode        string   `json:"reasonCode,omitempty"`
	// Times are Unix nanoseconds; 0 is unset.
	CreatedAt     int64 `json:"createdAt"`
	LastUpdatedAt int64 `json:"lastUpdatedAt"`
	CanceledAt    int64 `json:"canceledAt,omitempty"`
}

// execRecord is an execution as stored. Deadlines are absolute so that a
// restart neither extends nor shortens a running timer.
type execRecord struct {
	JobID           string            `json:"jobId"`
	Thing           string            `json:"thing"`
	Status          jobs.Status       `json:"status"`
	ForceCanceled   bool              `json:"forceCanceled,omitempty"`
	StatusDetails   map[string]string `json:"statusDetails,omitempty"`
	ExecutionNumber int64             `json:"executionNumber"`
	VersionNumber   int64             `json:"versionNumber"`
	// Times are Unix nanoseconds; 0 is unset.
	QueuedAt           int64 `json:"queuedAt"`
	StartedAt          int64 `json:"startedAt,omitempty"`
	LastUpdatedAt      int64 `json:"lastUpdatedAt"`
	StepDeadline       int64 `json:"stepDeadline,omitempty"`
	InProgressDeadline int64 `json:"inProgressDeadline,omitempty"`
}

var (
	bucketJobs       = []byte("jobs")
	bucketExecutions = []byte("executions")
)

// execKey orders a thing's executions together; thing names never contain
// a NUL byte.
func execKey(thing, jobID string) []byte { return []byte(thing + "\x00" + jobID) }

// put is one key written (value != nil) or deleted (value == nil).
type put struct {
	bucket []byte
	key    []byte
	value  []byte
}

func jobPut(r *jobRecord) put {
	v, _ := json.Marshal(r) // a struct of strings and numbers always encodes
	return put{bucket: bucketJobs, key: []byte(r.ID), value: v}
}

func execPut(r *execRecord) put {
	v, _ := json.Marshal(r)
	return put{bucket: bucketExecutions, key: execKey(r.Thing, r.JobID), value: v}
}

func execDelete(thing, jobID string) put {
	return put{bucket: bucketExecutions, key: execKey(thing, jobID)}
}

// store is the durable half of the engine. Writers hand it their puts and
// wait until they are on disk; one goroutine commits whatever has queued up
// meanwhile in a single transaction, so concurrent writers share an fsync
// without the fixed delay DB.Batch waits before committing a lone write.
type store struct {
	db      *bolt.DB
	tempDir string // removed on close; set for MemoryDataPath
	commits chan *commit
	stopped chan struct{}
}

type commit struct {
	puts []put
	done chan error
}

// maxGroup bounds one transaction so a burst cannot make it unbounded.
const maxGroup = 512

func openStore(path string) (*store, error) {
	s := &store{commits: make(chan *commit), stopped: make(chan struct{})}
	opts := &bolt.Options{Timeout: time.Second}
	if path == MemoryDataPath {
		dir, err := os.MkdirTemp("", "iotjobs-emulator-")
		if err != nil {
			return nil, err
		}
		s.tempDir = dir
		path = dir + "/jobs.db"
		// Nothing outlives the process, so waiting for the disk buys nothing.
		opts.NoSync = true
	}
	db, err := bolt.Open(path, 0o600, opts)
	if err != nil {
		s.removeTemp()
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open %s: the file is locked by another process", path)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s.db = db
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketJobs, bucketExecutions} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		s.removeTemp()
		return nil, fmt.Errorf("initialise %s: %w", path, err)
	}
	go s.run()
	return s, nil
}

func (s *store) removeTemp() {
	if s.tempDir != "" {
		os.RemoveAll(s.tempDir)
	}
}

// load calls fn for every stored job, then fn for every stored execution.
func (s *store) load(onJob func(jobRecord) error, onExec func(execRecord) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketJobs).ForEach(func(k, v []byte) error {
			var r jobRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("job %q: %w", k, err)
			}
			return onJob(r)
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketExecutions).ForEach(func(k, v []byte) error {
			var r execRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("execution %q: %w", k, err)
			}
			return onExec(r)
		})
	})
}

// write returns once puts are committed, or with the reason they are not.
// It must not be called after close.
func (s *store) write(puts []put) error {
	c := &commit{puts: puts, done: make(chan error, 1)}
	s.commits <- c
	return <-c.done
}

func (s *store) run() {
	defer close(s.stopped)
	for c := range s.commits {
		group := []*commit{c}
	gather:
		for len(group) < maxGroup {
			select {
			case next, ok := <-s.commits:
				if !ok {
					break gather
				}
				group = append(group, next)
			default:
				break gather
			}
		}
		s.commitGroup(group)
	}
}

func (s *store) commitGroup(group []*commit) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, c := range group {
			if err := applyPuts(tx, c.puts); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(group) == 1 {
		for _, c := range group {
			c.done <- err
		}
		return
	}
	// One writer's failure must not fail the others: retry each alone.
	for _, c := range group {
		c.done <- s.db.Update(func(tx *bolt.Tx) error { return applyPuts(tx, c.puts) })
	}
}

func applyPuts(tx *bolt.Tx, puts []put) error {
	for _, p := range puts {
		b := tx.Bucket(p.bucket)
		var err error
		if p.value == nil {
			err = b.Delete(p.key)
		} else {
			err = b.Put(p.key, p.value)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// close must be called once no write is in flight or will start.
func (s *store) close() error {
	close(s.commits)
	<-s.stopped
	err := s.db.Close()
	s.removeTemp()
	return err
}
