package testutil

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// MosquittoPath is where Debian's mosquitto package installs the broker.
const MosquittoPath = "/usr/sbin/mosquitto"

// StartMosquitto runs a Mosquitto 2 broker on a free 127.0.0.1 port with
// anonymous access and no persistence, waits until it accepts connections
// and kills it when the test ends. It returns the broker's host:port.
//
// Without the binary the test is skipped on a developer machine, but fails in
// CI (CI set): the interoperability suite must not silently stop running.
func StartMosquitto(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath(MosquittoPath)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mosquitto is required in CI: %v (apt-get install mosquitto)", err)
		}
		t.Skipf("mosquitto not installed (%v); apt-get install mosquitto to run this test", err)
	}

	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	config := fmt.Sprintf("listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type error\nlog_type warning\n", port)
	if err := os.WriteFile(conf, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}

	var logs lockedBuffer
	cmd := exec.Command(path, "-c", conf)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mosquitto: %v", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() && logs.Len() > 0 {
			t.Logf("mosquitto output:\n%s", logs.String())
		}
	})

	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return addr
		}
		select {
		case <-exited:
			t.Fatalf("mosquitto exited before accepting connections: %v\n%s", waitErr, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto did not accept connections on %s within 10s\n%s", addr, logs.String())
		}
	}
}

// freeAddr returns a 127.0.0.1 address whose port was free a moment ago, for
// a process that cannot be handed an open listener. Another process may take
// the port in between; on loopback in a test run that is rare enough.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// lockedBuffer collects a child process's output, which os/exec copies from
// its own goroutine while the test may read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
