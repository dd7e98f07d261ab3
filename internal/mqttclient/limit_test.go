package mqttclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/jobs"
)

// chunked is a net.Conn whose reads return at most size bytes of data.
type chunked struct {
	net.Conn
	data []byte
	size int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.size)], c.data)
	c.data = c.data[n:]
	return n, nil
}

func (c *chunked) Close() error { return nil }

// TestLimitedConnFollowsPackets: packets pass through whole however the
// reads split them, length bytes included; one over the limit fails the
// read at its header.
func TestLimitedConnFollowsPackets(t *testing.T) {
	big := append([]byte{0x30, 0x80, 0x01}, bytes.Repeat([]byte{'x'}, 128)...) // remaining length 128: two length bytes
	stream := append(append([]byte{0x20, 0x02, 0x00, 0x00}, big...), 0xd0, 0x00)
	for size := 1; size <= len(stream); size++ {
		c := &limitedConn{Conn: &chunked{data: append([]byte(nil), stream...), size: size}, max: 200}
		got, err := io.ReadAll(c)
		if err != nil || !bytes.Equal(got, stream) {
			t.Fatalf("reads of %d: %v, %d of %d bytes", size, err, len(got), len(stream))
		}
	}
	for size := 1; size <= 5; size++ {
		c := &limitedConn{Conn: &chunked{data: []byte{0x20, 0x02, 0x00, 0x00, 0x30, 0xff, 0xff, 0xff, 0x7f}, size: size}, max: 200}
		_, err := io.ReadAll(c)
		var tooLarge *PacketTooLargeError
		if !errors.As(err, &tooLarge) || tooLarge.Length != 268435455 {
			t.Fatalf("reads of %d: %v", size, err)
		}
	}
}

// TestHugePacketFromTheServerCostsNothing: a server that answers CONNECT and
// then announces a 256 MB packet fails the request at once, without the
// allocation paho would make for it.
func TestHugePacketFromTheServerCostsNothing(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 1024)
		_, _ = c.Read(buf)                             // CONNECT
		_, _ = c.Write([]byte{0x20, 0x02, 0x00, 0x00}) // CONNACK
		_, _ = c.Read(buf)                             // SUBSCRIBE, PUBLISH
		_, _ = c.Write([]byte{0x30, 0xff, 0xff, 0xff, 0x7f})
		time.Sleep(5 * time.Second)
	}()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	ep, _ := ParseEndpoint("mqtt://" + l.Addr().String())
	conn, err := Dial(ctx, Config{Endpoint: ep, ClientID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = conn.Request(ctx, jobs.GetPendingTopic("t"), []byte(`{"clientToken":"x"}`), "x")
	var lost *ConnectionError
	if !errors.As(err, &lost) || !strings.Contains(err.Error(), "268435455 bytes") {
		t.Fatalf("got %v, want the connection lost over a packet too large", err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 32<<20 {
		t.Errorf("the heap grew by %d MiB", grown>>20)
	}
}
