package store

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// openAndLoad opens path and loads everything; a panic fails the test (by
// crashing it), which is the point.
func openAndLoad(path string) error {
	s, err := Open(path)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Load(func(JobRecord) error { return nil }, func(ExecRecord) error { return nil })
}

// TestDamagedStoresGiveAnError: every 4 KB page of the fixture overwritten
// with random bytes in turn, the file cut in half, an empty file: opening
// and loading never panics; what cannot be read is a DamagedError naming
// the file, and Check reports it.
func TestDamagedStoresGiveAnError(t *testing.T) {
	original, err := os.ReadFile(filepath.Join("testdata", "store-v1.db"))
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	rng := rand.New(rand.NewPCG(1, 2))
	damaged := 0
	for p := 0; p*page < len(original); p++ {
		data := append([]byte(nil), original...)
		for i := p * page; i < (p+1)*page; i++ {
			data[i] = byte(rng.Uint32())
		}
		path := filepath.Join(t.TempDir(), "jobs.db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		report, checkErr := Check(path)
		err := openAndLoad(path)
		var de *DamagedError
		switch {
		case err == nil:
			// A page the store does not use (free, or beyond the data).
		case errors.As(err, &de) && de.Path == path:
			damaged++
			if checkErr == nil && len(report.Problems) == 0 {
				t.Errorf("page %d: Open says %v, Check finds nothing", p, err)
			}
		default:
			t.Errorf("page %d: %v, want a DamagedError naming the file", p, err)
		}
	}
	if damaged == 0 {
		t.Error("no overwritten page was found damaged")
	}
	t.Logf("%d of %d overwritten pages made the store unreadable, each with a DamagedError", damaged, len(original)/page)

	for name, data := range map[string][]byte{"truncated": original[:3*page], "empty": nil} {
		path := filepath.Join(t.TempDir(), name+".db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var de *DamagedError
		if err := openAndLoad(path); !errors.As(err, &de) {
			t.Errorf("%s file: %v, want a DamagedError", name, err)
		}
		if _, err := Check(path); err == nil {
			t.Errorf("%s file: Check found it sound", name)
		}
	}
}

func TestCheckASoundStore(t *testing.T) {
	r, err := Check(filepath.Join("testdata", "store-v1.db"))
	if err != nil || len(r.Problems) != 0 || r.Schema != 1 || r.Jobs != 3 || r.Executions != 6 {
		t.Errorf("Check of the fixture: %+v, %v", r, err)
	}
}
