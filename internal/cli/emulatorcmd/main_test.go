package emulatorcmd_test

import (
	"testing"

	"github.com/iotjobs/iotjobs/internal/testutil"
)

// bin is the iotjobs binary the tests run as a process, built once.
var bin string

func TestMain(m *testing.M) { testutil.MainWithBinary(m, &bin) }

func run(t *testing.T, env []string, args ...string) testutil.Result {
	t.Helper()
	return testutil.RunBinary(t, bin, env, args...)
}
