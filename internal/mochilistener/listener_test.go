package mochilistener_test

import (
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"

	"github.com/iotjobs/iotjobs/internal/mochilistener"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// connect opens a raw MQTT 3.1.1 connection and waits for its CONNACK.
func connect(t *testing.T, addr, clientID string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	// CONNECT: protocol "MQTT" level 4, clean session, keep-alive 60 s.
	body := append([]byte{0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, byte(len(clientID))}, clientID...)
	if _, err := conn.Write(append([]byte{0x10, byte(len(body))}, body...)); err != nil {
		t.Fatal(err)
	}
	connack := make([]byte, 4)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(connack); err != nil || connack[0] != 0x20 || connack[3] != 0 {
		t.Fatalf("no CONNACK: % x, %v", connack, err)
	}
	return conn
}

func start(t *testing.T, log *testutil.LockedBuffer) (*mqtt.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := mqtt.New(&mqtt.Options{InlineClient: true, Logger: slog.New(slog.DiscardHandler)})
	if err := server.AddHook(new(auth.AllowHook), nil); err != nil {
		t.Fatal(err)
	}
	if err := server.AddListener(mochilistener.New(server, "test", ln, slog.New(slog.NewTextHandler(log, nil)), mochilistener.Options{})); err != nil {
		t.Fatal(err)
	}
	if err := server.Serve(); err != nil {
		t.Fatal(err)
	}
	return server, ln.Addr().String()
}

// TestCloseEndsEveryConnection: Close returns with clients still connected,
// and the connections it ends itself are not logged as abnormal.
func TestCloseEndsEveryConnection(t *testing.T) {
	var log testutil.LockedBuffer
	server, addr := start(t, &log)
	conns := []net.Conn{connect(t, addr, "a"), connect(t, addr, "b")}

	closed := make(chan struct{})
	go func() { server.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return with clients connected")
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		for {
			if _, err := c.Read(buf); err != nil {
				break // closed by the server, after its DISCONNECT
			}
		}
	}
	if got := log.String(); got != "" {
		t.Errorf("closing logged: %s", got)
	}
}

// TestAbnormalEndIsLogged: a client that drops without DISCONNECT while
// the broker runs is worth a log line.
func TestAbnormalEndIsLogged(t *testing.T) {
	var log testutil.LockedBuffer
	server, addr := start(t, &log)
	t.Cleanup(func() { server.Close() })
	connect(t, addr, "a").Close()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(log.String(), "client connection ended") {
		if time.Now().After(deadline) {
			t.Fatalf("no log line for a dropped client; log: %q", log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCloseWhileClientsLeave: clients leaving while the server closes must
// not deadlock Close. mochi's own closeClients took the clients' read lock
// twice, and a leaving client's Delete queued between the two hung Close
// for ever; this happened once in CI under -race.
func TestCloseWhileClientsLeave(t *testing.T) {
	rounds := 100
	if testing.Short() {
		rounds = 10
	}
	for range rounds {
		server, addr := start(t, new(testutil.LockedBuffer))
		var conns []net.Conn
		for i := range 16 {
			conns = append(conns, connect(t, addr, "c"+string(rune('a'+i))))
		}
		var leaving sync.WaitGroup
		for _, c := range conns {
			leaving.Go(func() { c.Close() })
		}
		closed := make(chan struct{})
		go func() { server.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(20 * time.Second):
			t.Fatal("Close hung while clients were leaving")
		}
		leaving.Wait()
	}
}
