package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Report is what Check found in a store file.
type Report struct {
	Path       string
	Schema     int // 1 for the first release's files, which carry no version
	Jobs       int
	Executions int
	// Problems are the inconsistencies found; none means the file is sound.
	Problems []string
}

// Check reads the store at path without changing it: bbolt's consistency
// check of every page, then every record decoded, every execution's job
// present. A file that cannot be opened at all is an error.
func Check(path string) (r Report, err error) {
	r.Path = path
	defer func() {
		// bbolt's page check may have reported, as a panic it recovered,
		// the fault that then stopped the reading: err says it, once.
		var damaged *DamagedError
		if errors.As(err, &damaged) {
			r.Problems = slices.DeleteFunc(r.Problems, func(p string) bool { return p == "panic: "+damaged.Reason })
		}
	}()
	defer faultsPanic()()
	defer readable(path, &err)
	switch info, err := os.Stat(path); {
	case errors.Is(err, fs.ErrNotExist):
		return r, fmt.Errorf("there is no store at %s", path)
	case err != nil:
		return r, err
	case info.Size() == 0:
		return r, &DamagedError{Path: path, Reason: emptyReason}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return r, openError(path, err)
	}
	defer db.Close()
	if err := truncated(db); err != nil {
		return r, err
	}
	err = db.View(func(tx *bolt.Tx) error {
		for problem := range tx.Check() {
			r.Problems = append(r.Problems, problem.Error())
		}
		r.Schema = 1
		if meta := tx.Bucket(bucketMeta); meta != nil {
			n, err := strconv.Atoi(string(meta.Get(keySchema)))
			if err != nil {
				r.Problems = append(r.Problems, fmt.Sprintf("the schema version %q is not a number", meta.Get(keySchema)))
			}
			r.Schema = n
		}
		jobIDs := map[string]bool{}
		jobsBucket, execBucket := tx.Bucket(bucketJobs), tx.Bucket(bucketExecutions)
		if jobsBucket == nil || execBucket == nil {
			r.Problems = append(r.Problems, "the jobs or executions bucket is missing")
			return nil
		}
		_ = jobsBucket.ForEach(func(k, v []byte) error {
			var j JobRecord
			if err := json.Unmarshal(v, &j); err != nil || j.ID != string(k) {
				r.Problems = append(r.Problems, fmt.Sprintf("job %q: the record does not decode as its job (%v)", k, err))
				return nil
			}
			jobIDs[j.ID] = true
			r.Jobs++
			return nil
		})
		return execBucket.ForEach(func(k, v []byte) error {
			var x ExecRecord
			if err := json.Unmarshal(v, &x); err != nil {
				r.Problems = append(r.Problems, fmt.Sprintf("execution %q: the record does not decode: %v", k, err))
				return nil
			}
			if r.Schema >= 2 && string(k) != string(execKey(x.Thing, x.JobID, x.ExecutionNumber)) {
				r.Problems = append(r.Problems, fmt.Sprintf("execution %q: the key does not match the record", k))
			}
			if !jobIDs[x.JobID] {
				r.Problems = append(r.Problems, fmt.Sprintf("execution of %s on %s: the job is missing", x.JobID, x.Thing))
			}
			r.Executions++
			return nil
		})
	})
	return r, err
}
