//go:build linux

package mochilistener_test

import (
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/testutil"
)

// TestAcceptSurvivesRunningOutOfFiles: with a small RLIMIT_NOFILE, clients
// connecting at once exhaust the process's file descriptors, so Accept
// fails with "too many open files". The listener logs that, keeps going, and
// serves clients again once descriptors are free, instead of leaving its
// port open and deaf.
func TestAcceptSurvivesRunningOutOfFiles(t *testing.T) {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Skip("no RLIMIT_NOFILE:", err)
	}
	var log testutil.LockedBuffer
	server, addr := start(t, &log)
	t.Cleanup(func() { server.Close() })

	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("cannot count open files:", err)
	}
	low := old
	low.Cur = uint64(len(fds) + 40)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skip("cannot lower RLIMIT_NOFILE:", err)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
				t.Error(err)
			}
		}
	}
	defer restore()

	// Each client costs two descriptors here (ours and the accepted one):
	// dial until the process has none left.
	var clients []net.Conn
	for range 200 {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		clients = append(clients, c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(log.String(), "accept failed; retrying") {
		if time.Now().After(deadline) {
			t.Fatalf("with %d clients and a limit of %d files, Accept never failed; log: %s", len(clients), low.Cur, log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, c := range clients {
		c.Close()
	}
	restore()
	connect(t, addr, "after-the-storm") // fails the test without a CONNACK
}
