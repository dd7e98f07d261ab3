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

// Mosquitto is a Mosquitto 2 broker process run for a test.
type Mosquitto struct {
	// Addr is the broker's 127.0.0.1:PORT; URL is mqtt://Addr.
	Addr, URL string

	t       testing.TB
	path    string
	conf    string
	logs    *LockedBuffer
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// StartMosquitto runs a Mosquitto 2 broker on a free 127.0.0.1 port with
// anonymous access and no persistence, waits until it accepts connections
// and kills it when the test ends.
//
// Without the binary the test is skipped on a developer machine, but fails in
// CI (CI set): the interoperability suite must not silently stop running.
func StartMosquitto(t testing.TB) *Mosquitto {
	t.Helper()
	path, err := exec.LookPath(MosquittoPath)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mosquitto is required in CI: %v (apt-get install mosquitto)", err)
		}
		t.Skipf("mosquitto not installed (%v); apt-get install mosquitto to run this test", err)
	}

	addr := FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	m := &Mosquitto{Addr: addr, URL: "mqtt://" + addr, t: t, path: path, logs: &LockedBuffer{},
		conf: filepath.Join(t.TempDir(), "mosquitto.conf")}
	// set_tcp_nodelay: Mosquitto's default leaves Nagle on, which holds a
	// small publication ~40 ms behind an unacknowledged one (measured by
	// BenchmarkWatchLatency); the embedded broker does not.
	config := fmt.Sprintf("listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\nlog_dest stderr\nlog_type error\nlog_type warning\n", port)
	if err := os.WriteFile(m.conf, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Stop()
		if t.Failed() && m.logs.Len() > 0 {
			t.Logf("mosquitto output:\n%s", m.logs.String())
		}
	})
	m.start()
	return m
}

// start runs the process and waits until it accepts connections.
func (m *Mosquitto) start() {
	m.t.Helper()
	m.cmd = exec.Command(m.path, "-c", m.conf)
	m.cmd.Stdout, m.cmd.Stderr = m.logs, m.logs
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("start mosquitto: %v", err)
	}
	m.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		m.waitErr = cmd.Wait()
		close(exited)
	}(m.cmd, m.exited)

	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", m.Addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return
		}
		select {
		case <-m.exited:
			m.t.Fatalf("mosquitto exited before accepting connections: %v\n%s", m.waitErr, m.logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("mosquitto did not accept connections on %s within 10s\n%s", m.Addr, m.logs.String())
		}
	}
}

// Stop kills the broker, dropping every connection, and waits for it to
// exit. It may be called more than once.
func (m *Mosquitto) Stop() {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	<-m.exited
	m.cmd = nil
}

// Restart kills the broker and starts it again on the same port, with no
// memory of sessions or subscriptions: clients must reconnect and subscribe
// again.
func (m *Mosquitto) Restart() {
	m.t.Helper()
	m.Stop()
	m.start()
}

// FreeAddr returns a 127.0.0.1 address whose port was free a moment ago, for
// a process that cannot be handed an open listener, or as an address where
// nothing listens. Another process may take the port in between; on
// loopback in a test run that is rare enough.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// SilentListener is the address of a TCP listener that accepts and never
// says a word: a server that never answers CONNECT. It closes, with the
// connections it took, when the test ends.
func SilentListener(t testing.TB) string {
	t.Helper()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	return silent.Addr().String()
}

// LockedBuffer is a buffer safe for concurrent writes and reads: a child
// process's output, which os/exec copies from its own goroutine, or a log
// written from a server's goroutines, while the test reads it.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
