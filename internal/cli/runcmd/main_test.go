package runcmd_test

import (
	"testing"

	"github.com/iotjobs/iotjobs/internal/testutil"
)

// iotjobs is the binary the tests run as a process, built once.
var iotjobs testutil.Binary

func TestMain(m *testing.M) { iotjobs.Main(m) }
