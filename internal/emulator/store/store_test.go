package store

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/iotjobs/iotjobs/internal/jobs"
)

// copyFixture copies a store file of testdata into a temporary directory,
// so the test may migrate it.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	src, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(t.TempDir(), name)
	dst, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func load(t *testing.T, s *Store) (jobs map[string]JobRecord, execs []ExecRecord) {
	t.Helper()
	jobs = map[string]JobRecord{}
	err := s.Load(func(r JobRecord) error {
		jobs[r.ID] = r
		return nil
	}, func(r ExecRecord) error {
		execs = append(execs, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return jobs, execs
}

func schemaOf(t *testing.T, path string) string {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	_ = db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketMeta); b != nil {
			v = string(b.Get(keySchema))
		}
		return nil
	})
	return v
}

// TestOpensTheFirstReleasesStore opens testdata/store-v1.db, written by the
// first release (schema 1, commit c221863) with three jobs: fw-1 on dev-1
// (IN_PROGRESS, step=download, a step deadline), dev-2 (SUCCEEDED) and
// dev-3 (CANCELED); reboot on dev-1 (QUEUED, 30-minute in-progress
// timeout); old, canceled, on dev-2 (FAILED) and dev-3 (CANCELED).
func TestOpensTheFirstReleasesStore(t *testing.T) {
	path := copyFixture(t, "store-v1.db")
	if v := schemaOf(t, path); v != "" {
		t.Fatalf("the fixture already has schema %q", v)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	jobsByID, execs := load(t, s)
	if len(jobsByID) != 3 || jobsByID["reboot"].InProgressTimeout != 30 || jobsByID["reboot"].Description != "reboot it" ||
		!jobsByID["old"].Canceled || jobsByID["old"].Comment != "gone" || jobsByID["old"].ReasonCode != "OLD" {
		t.Errorf("jobs: %+v", jobsByID)
	}
	var got []string
	for _, x := range execs {
		got = append(got, x.Thing+" "+x.JobID+" "+string(x.Status))
	}
	want := []string{
		"dev-1 fw-1 IN_PROGRESS", "dev-1 reboot QUEUED", "dev-2 fw-1 SUCCEEDED", "dev-2 old FAILED",
		"dev-3 fw-1 CANCELED", "dev-3 old CANCELED",
	}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("executions:\n  %s\nwant\n  %s", strings.Join(got, ", "), strings.Join(want, ", "))
	}
	first := execs[0]
	if first.StatusDetails["step"] != "download" || first.StepDeadline == 0 || first.VersionNumber != 2 || first.ExecutionNumber != 1 {
		t.Errorf("dev-1's fw-1: %+v", first)
	}
	// The keys carry the execution number now: deleting by the new key works.
	if err := s.Write([]Put{DeleteExec("dev-2", "old", 1)}); err != nil {
		t.Fatal(err)
	}
	if _, execs := load(t, s); len(execs) != 5 {
		t.Errorf("%d executions after deleting one of 6", len(execs))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if v := schemaOf(t, path); v != strconv.Itoa(SchemaVersion) {
		t.Errorf("schema after migration %q, want %d", v, SchemaVersion)
	}
	// Opening again migrates nothing more.
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, execs := load(t, s); len(execs) != 5 {
		t.Errorf("%d executions after reopening, want 5", len(execs))
	}
	s.Close()
}

func TestRefusesANewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	newer := strconv.Itoa(SchemaVersion + 1)
	_ = db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, []byte(newer)) })
	db.Close()
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "newer iotjobs") {
		t.Fatalf("opened a store of schema %s: %v", newer, err)
	}
}

// A store of schema 2 (no registry buckets) opens as schema 3, its jobs
// and executions untouched, and keeps things and groups from then on.
func TestMigratesSchema2AndKeepsTheRegistry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	job := JobRecord{ID: "J1", Seq: 1, Targets: []string{"t"}, Document: "{}"}
	if err := s.Write([]Put{PutJob(&job), PutExec(&ExecRecord{JobID: "J1", Thing: "t", Status: jobs.StatusQueued, ExecutionNumber: 1, VersionNumber: 1})}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketThings, bucketGroups} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, []byte("2"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if s, err = Open(path); err != nil {
		t.Fatal(err)
	}
	if jobsByID, execs := load(t, s); len(jobsByID) != 1 || len(execs) != 1 {
		t.Errorf("after migration: %v %v", jobsByID, execs)
	}
	group := GroupRecord{Name: "g", ID: "gid", Version: 1}
	thing := ThingRecord{Name: "t", ID: "tid", Version: 1, Groups: []string{"g"}, Attributes: map[string]string{"a": "b"}}
	if err := s.Write([]Put{PutGroup(&group), PutThing(&thing)}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if v := schemaOf(t, path); v != strconv.Itoa(SchemaVersion) {
		t.Errorf("schema %q", v)
	}
	if s, err = Open(path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var groups, things []string
	err = s.LoadRegistry(func(g GroupRecord) error {
		groups = append(groups, g.Name+"/"+g.ID)
		return nil
	}, func(r ThingRecord) error {
		things = append(things, r.Name+"/"+strings.Join(r.Groups, ",")+"/"+r.Attributes["a"])
		return nil
	})
	if err != nil || strings.Join(groups, " ") != "g/gid" || strings.Join(things, " ") != "t/g/b" {
		t.Errorf("registry after reopening: %v %v %v", groups, things, err)
	}
	if err := s.Write([]Put{DeleteThing("t"), DeleteGroup("g")}); err != nil {
		t.Fatal(err)
	}
}

func TestWritesAndDeletes(t *testing.T) {
	s, err := Open(MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	job := JobRecord{ID: "J1", Seq: 1, Targets: []string{"t"}, Document: "{}"}
	x1 := ExecRecord{JobID: "J1", Thing: "t", Status: jobs.StatusFailed, ExecutionNumber: 1, VersionNumber: 2}
	x2 := ExecRecord{JobID: "J1", Thing: "t", Status: jobs.StatusQueued, ExecutionNumber: 2, VersionNumber: 1}
	if err := s.Write([]Put{PutJob(&job), PutExec(&x2), PutExec(&x1)}); err != nil {
		t.Fatal(err)
	}
	_, execs := load(t, s)
	if len(execs) != 2 || execs[0].ExecutionNumber != 1 || execs[1].ExecutionNumber != 2 {
		t.Errorf("two executions of one job on one thing, in number order: %+v", execs)
	}
	if err := s.Write([]Put{DeleteExec("t", "J1", 1), DeleteExec("t", "J1", 2), DeleteJob("J1")}); err != nil {
		t.Fatal(err)
	}
	if jobsByID, execs := load(t, s); len(jobsByID)+len(execs) != 0 {
		t.Errorf("left after deleting: %v %v", jobsByID, execs)
	}
}

func TestWriteAfterClose(t *testing.T) {
	s, err := Open(MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Write([]Put{DeleteJob("x")}); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
}
