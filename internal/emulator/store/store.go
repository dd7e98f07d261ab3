// Package store is the durable half of the emulator's engine: job and
// execution records in a bbolt file, written in group commits. The file
// carries a schema version; Open migrates a store written by an earlier
// version of iotjobs and refuses one written by a later version.
package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// MemoryPath as the path keeps nothing across runs but otherwise behaves
// the same.
const MemoryPath = ":memory:"

// JobRecord is a job as stored. Its status is not stored: CANCELED follows
// from Canceled, COMPLETED from the executions and Waiting, so finishing the
// last execution never has to write the job record.
type JobRecord struct {
	ID  string `json:"id"`
	Seq uint64 `json:"seq"` // creation order
	// Targets are the thing names targeted, Groups the thing groups.
	Targets           []string `json:"targets"`
	Groups            []string `json:"groups,omitempty"`
	TargetSelection   string   `json:"targetSelection,omitempty"` // "" is SNAPSHOT
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

	Rollout *iotapi.JobExecutionsRolloutConfig `json:"rollout,omitempty"`
	Abort   *iotapi.AbortConfig                `json:"abort,omitempty"`
	Retry   *iotapi.JobExecutionsRetryConfig   `json:"retry,omitempty"`
	// The rollout: Waiting are the things still to be notified, in order;
	// Notified counts the things notified so far; the current rollout
	// minute began at WindowStart and notified WindowCount things.
	Waiting     []string `json:"waiting,omitempty"`
	Notified    int64    `json:"notified,omitempty"`
	WindowStart int64    `json:"windowStart,omitempty"`
	WindowCount int64    `json:"windowCount,omitempty"`
	// AbortedBy is the abort criterion that canceled the job.
	AbortedBy *iotapi.AbortCriteria `json:"abortedBy,omitempty"`
}

// ThingRecord is a registered thing and the groups it belongs to.
type ThingRecord struct {
	Name       string            `json:"name"`
	ID         string            `json:"id"`
	TypeName   string            `json:"typeName,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Version    int64             `json:"version"`
	Groups     []string          `json:"groups,omitempty"`
}

// GroupRecord is a thing group; its members are in their ThingRecords.
type GroupRecord struct {
	Name        string            `json:"name"`
	ID          string            `json:"id"`
	Description string            `json:"description,omitempty"`
	Attributes  map[string]string `json:"attributes,omitempty"`
	Version     int64             `json:"version"`
	CreatedAt   int64             `json:"createdAt"`
}

// ExecRecord is an execution as stored, one per thing, job and execution
// number. Deadlines are absolute so that a restart neither extends nor
// shortens a running timer.
type ExecRecord struct {
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

// SchemaVersion is the layout this version writes. Version 1, the first
// release's, had no version key and keyed executions by thing and job
// only; version 2 adds the execution number to the key; version 3 adds
// the things and thing groups, and the rollout members of JobRecord.
const SchemaVersion = 3

var (
	bucketMeta       = []byte("meta")
	bucketJobs       = []byte("jobs")
	bucketExecutions = []byte("executions")
	bucketThings     = []byte("things")
	bucketGroups     = []byte("groups")
	keySchema        = []byte("schema")
)

// execKey orders a thing's executions together, and a job's executions on
// the thing by number; thing names and job ids never contain a NUL byte.
func execKey(thing, jobID string, number int64) []byte {
	return fmt.Appendf(nil, "%s\x00%s\x00%020d", thing, jobID, number)
}

// Put is one change of a write: a record stored or deleted.
type Put struct {
	bucket []byte
	key    []byte
	value  []byte // nil deletes
}

// PutJob stores r.
func PutJob(r *JobRecord) Put {
	v, _ := json.Marshal(r) // a struct of strings and numbers always encodes
	return Put{bucket: bucketJobs, key: []byte(r.ID), value: v}
}

// DeleteJob deletes the job record (not its executions).
func DeleteJob(id string) Put { return Put{bucket: bucketJobs, key: []byte(id)} }

// PutExec stores r.
func PutExec(r *ExecRecord) Put {
	v, _ := json.Marshal(r)
	return Put{bucket: bucketExecutions, key: execKey(r.Thing, r.JobID, r.ExecutionNumber), value: v}
}

// DeleteExec deletes one execution.
func DeleteExec(thing, jobID string, number int64) Put {
	return Put{bucket: bucketExecutions, key: execKey(thing, jobID, number)}
}

// PutThing stores r.
func PutThing(r *ThingRecord) Put {
	v, _ := json.Marshal(r)
	return Put{bucket: bucketThings, key: []byte(r.Name), value: v}
}

// DeleteThing deletes a thing's record.
func DeleteThing(name string) Put { return Put{bucket: bucketThings, key: []byte(name)} }

// PutGroup stores r.
func PutGroup(r *GroupRecord) Put {
	v, _ := json.Marshal(r)
	return Put{bucket: bucketGroups, key: []byte(r.Name), value: v}
}

// DeleteGroup deletes a group's record.
func DeleteGroup(name string) Put { return Put{bucket: bucketGroups, key: []byte(name)} }

// PutMeta stores value under key in the meta bucket, beside the schema
// version: settings of the emulator's own (the event configurations). An
// older iotjobs ignores keys it does not know, so adding one needs no new
// schema version. key must not be "schema".
func PutMeta(key string, value []byte) Put {
	return Put{bucket: bucketMeta, key: []byte(key), value: value}
}

// ErrClosed is what a write meets after Close.
var ErrClosed = errors.New("the store is closed")

// Store holds the records. Writers hand it their puts and wait until they
// are on disk; one goroutine commits whatever has queued up meanwhile in a
// single transaction, so concurrent writers share an fsync without the
// fixed delay DB.Batch waits before committing a lone write.
type Store struct {
	db      *bolt.DB
	tempDir string // removed on close; set for MemoryPath
	commits chan *commit
	closing chan struct{}
	stopped chan struct{}

	closeOnce sync.Once
	closeErr  error
}

type commit struct {
	puts []Put
	done chan error
}

// maxGroup bounds one transaction so a burst cannot make it unbounded.
const maxGroup = 512

// DamagedError is a store file that cannot be read as one: a damaged page,
// a truncated file, an empty one.
type DamagedError struct {
	Path   string
	Reason string
}

func (e *DamagedError) Error() string { return "the store " + e.Path + " is damaged: " + e.Reason }

// emptyReason is why an empty store file is damaged.
const emptyReason = "it is empty (0 bytes), as a store whose creation failed is"

// openError explains why bbolt could not open the store at path: locked
// (another emulator, or a check, has it open), damaged, or the system's
// error.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return fmt.Errorf("open %s: the file is locked by another process (a running emulator? stop it first)", path)
	case errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrChecksum) || errors.Is(err, bolterrors.ErrVersionMismatch):
		return &DamagedError{Path: path, Reason: err.Error()}
	}
	return fmt.Errorf("open %s: %w", path, err)
}

// readable turns a panic of bbolt reading a damaged file (it panics on some
// corrupt pages) into a DamagedError. Defer it after faultsPanic, on the
// goroutine that reads.
func readable(path string, err *error) {
	if r := recover(); r != nil {
		*err = &DamagedError{Path: path, Reason: fmt.Sprint(r)}
	}
}

// truncated is a DamagedError when the file is shorter than its pages:
// reading them would fault.
func truncated(db *bolt.DB) error {
	info, err := os.Stat(db.Path())
	if err != nil {
		return err
	}
	var need int64
	_ = db.View(func(tx *bolt.Tx) error {
		need = tx.Size()
		return nil
	})
	if info.Size() < need {
		return &DamagedError{Path: db.Path(), Reason: fmt.Sprintf("it is %d bytes long, and its pages need %d: it was cut short", info.Size(), need)}
	}
	return nil
}

// faultsPanic makes a fault on the mmapped file (a page past the end of a
// truncated file: SIGBUS) a panic of this goroutine, which readable
// recovers, instead of a crash; the returned function restores the setting.
func faultsPanic() func() {
	old := debug.SetPanicOnFault(true)
	return func() { debug.SetPanicOnFault(old) }
}

// Open opens (or creates) the store at path, migrating an older schema.
func Open(path string) (s *Store, err error) {
	s = &Store{commits: make(chan *commit), closing: make(chan struct{}), stopped: make(chan struct{})}
	opts := &bolt.Options{Timeout: time.Second}
	created := false
	if path == MemoryPath {
		dir, err := os.MkdirTemp("", "iotjobs-emulator-")
		if err != nil {
			return nil, err
		}
		s.tempDir = dir
		path = dir + "/jobs.db"
		// Nothing outlives the process, so waiting for the disk buys nothing.
		opts.NoSync = true
	} else if info, err := os.Stat(path); err == nil && info.Size() == 0 {
		return nil, &DamagedError{Path: path, Reason: emptyReason}
	} else if errors.Is(err, fs.ErrNotExist) {
		created = true
	}
	fail := func(err error) (*Store, error) {
		if s.db != nil {
			s.db.Close()
		}
		if created {
			os.Remove(path) // leave no half-made file behind
		}
		s.removeTemp()
		return nil, err
	}
	err = func() (err error) {
		defer faultsPanic()()
		defer readable(path, &err)
		s.db, err = bolt.Open(path, 0o600, opts)
		if err != nil {
			s.db = nil
			return openError(path, err)
		}
		if err := truncated(s.db); err != nil {
			return err
		}
		if err := s.db.Update(prepare); err != nil {
			return fmt.Errorf("initialise %s: %w", path, err)
		}
		return nil
	}()
	if err != nil {
		return fail(err)
	}
	go s.run()
	return s, nil
}

// prepare creates the buckets of a new store and brings an older one to
// SchemaVersion, in the one transaction: a failed migration leaves the file
// as it was.
func prepare(tx *bolt.Tx) error {
	version := 0 // a new file
	if tx.Bucket(bucketJobs) != nil {
		version = 1 // the first release wrote no version
	}
	if meta := tx.Bucket(bucketMeta); meta != nil {
		n, err := strconv.Atoi(string(meta.Get(keySchema)))
		if err != nil {
			return fmt.Errorf("the schema version %q is not a number", meta.Get(keySchema))
		}
		version = n
	}
	if version > SchemaVersion {
		return fmt.Errorf("the store has schema version %d, written by a newer iotjobs; this one reads up to %d", version, SchemaVersion)
	}
	// Version 2 to 3 only adds buckets.
	for _, b := range [][]byte{bucketMeta, bucketJobs, bucketExecutions, bucketThings, bucketGroups} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	if version == 1 {
		if err := migrateExecKeys(tx.Bucket(bucketExecutions)); err != nil {
			return fmt.Errorf("migrate from schema 1: %w", err)
		}
	}
	return tx.Bucket(bucketMeta).Put(keySchema, []byte(strconv.Itoa(SchemaVersion)))
}

// migrateExecKeys re-keys schema 1's executions (thing, job) by thing, job
// and execution number.
func migrateExecKeys(b *bolt.Bucket) error {
	type entry struct{ old, value []byte }
	var entries []entry
	err := b.ForEach(func(k, v []byte) error {
		entries = append(entries, entry{old: append([]byte(nil), k...), value: append([]byte(nil), v...)})
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range entries {
		var r ExecRecord
		if err := json.Unmarshal(e.value, &r); err != nil {
			return fmt.Errorf("execution %q: %w", e.old, err)
		}
		if err := b.Delete(e.old); err != nil {
			return err
		}
		if err := b.Put(execKey(r.Thing, r.JobID, r.ExecutionNumber), e.value); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) removeTemp() {
	if s.tempDir != "" {
		os.RemoveAll(s.tempDir)
	}
}

// Load calls onJob for every stored job, then onExec for every stored
// execution, in key order: by thing, job and execution number.
func (s *Store) Load(onJob func(JobRecord) error, onExec func(ExecRecord) error) error {
	return s.view(func(tx *bolt.Tx) error {
		if err := each(tx, bucketJobs, "job", onJob); err != nil {
			return err
		}
		return each(tx, bucketExecutions, "execution", onExec)
	})
}

// LoadRegistry calls onGroup for every stored thing group, then onThing for
// every stored thing, by name.
func (s *Store) LoadRegistry(onGroup func(GroupRecord) error, onThing func(ThingRecord) error) error {
	return s.view(func(tx *bolt.Tx) error {
		if err := each(tx, bucketGroups, "thing group", onGroup); err != nil {
			return err
		}
		return each(tx, bucketThings, "thing", onThing)
	})
}

// view reads the store in a read transaction, a damaged file's fault or
// panic turned into a DamagedError.
func (s *Store) view(fn func(*bolt.Tx) error) (err error) {
	defer faultsPanic()()
	defer readable(s.db.Path(), &err)
	return s.db.View(fn)
}

// each decodes every record of bucket as a T, in key order, and hands it
// to fn; what names a record that does not decode.
func each[T any](tx *bolt.Tx, bucket []byte, what string, fn func(T) error) error {
	return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
		var r T
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%s %q: %w", what, k, err)
		}
		return fn(r)
	})
}

// Meta returns the value stored under key in the meta bucket (see
// PutMeta), nil when there is none.
func (s *Store) Meta(key string) (value []byte, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		value = bytes.Clone(tx.Bucket(bucketMeta).Get([]byte(key)))
		return nil
	})
	return value, err
}

// Write returns once puts are committed, or with the reason they are not;
// after Close that is ErrClosed.
func (s *Store) Write(puts []Put) error {
	c := &commit{puts: puts, done: make(chan error, 1)}
	select {
	case s.commits <- c:
		return <-c.done
	case <-s.closing:
		return ErrClosed
	}
}

func (s *Store) run() {
	defer close(s.stopped)
	for {
		var c *commit
		select {
		case c = <-s.commits:
		case <-s.closing:
			return
		}
		group := []*commit{c}
	gather:
		for len(group) < maxGroup {
			select {
			case next := <-s.commits:
				group = append(group, next)
			default:
				break gather
			}
		}
		s.commitGroup(group)
	}
}

func (s *Store) commitGroup(group []*commit) {
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

func applyPuts(tx *bolt.Tx, puts []Put) error {
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

// Close waits for the commit in flight, refuses later writes and closes
// the file. Calls after the first return its result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		<-s.stopped
		s.closeErr = s.db.Close()
		s.removeTemp()
	})
	return s.closeErr
}
