package mqttclient

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient/mqtttest"
)

// readPacket reads one MQTT packet: its type nibble and its body.
func readPacket(t *testing.T, r io.Reader) (byte, []byte) {
	t.Helper()
	head := make([]byte, 1)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	length, shift := 0, 0
	for {
		b := make([]byte, 1)
		if _, err := io.ReadFull(r, b); err != nil {
			t.Fatal(err)
		}
		length |= int(b[0]&0x7f) << shift
		shift += 7
		if b[0]&0x80 == 0 {
			break
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		t.Fatal(err)
	}
	return head[0] >> 4, body
}

// TestPublishLeavesBeforeSubAck: a request's SUBSCRIBE and PUBLISH leave
// back to back; the PUBLISH does not wait for the SUBACK's round trip. The
// fake broker sends SUBACK only once it has the PUBLISH.
func TestPublishLeavesBeforeSubAck(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	served := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if kind, _ := readPacket(t, c); kind != 1 {
			served <- fmt.Errorf("first packet of type %d, want CONNECT", kind)
			return
		}
		_, _ = c.Write([]byte{0x20, 0x02, 0x00, 0x00})
		kind, sub := readPacket(t, c)
		if kind != 8 {
			served <- fmt.Errorf("packet of type %d after CONNACK, want SUBSCRIBE", kind)
			return
		}
		kind, pub := readPacket(t, c) // before any SUBACK
		if kind != 3 {
			served <- fmt.Errorf("packet of type %d after SUBSCRIBE, want PUBLISH", kind)
			return
		}
		topicLen := int(pub[0])<<8 | int(pub[1])
		_, _ = c.Write([]byte{0x90, 0x04, sub[0], sub[1], 0x01, 0x01})         // SUBACK
		_, _ = c.Write([]byte{0x40, 0x02, pub[2+topicLen], pub[2+topicLen+1]}) // PUBACK
		reply := append([]byte{0, byte(len("$aws/things/t/jobs/get/accepted"))}, "$aws/things/t/jobs/get/accepted"...)
		reply = append(reply, `{"clientToken":"x","timestamp":1}`...)
		_, _ = c.Write(append([]byte{0x30, byte(len(reply))}, reply...))
		served <- nil
		time.Sleep(time.Second)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ep, _ := ParseEndpoint("mqtt://" + l.Addr().String())
	conn, err := Dial(ctx, Config{Endpoint: ep, ClientID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	reply, err := conn.Request(ctx, jobs.GetPendingTopic("t"), []byte(`{"clientToken":"x"}`), "x")
	if err != nil || !reply.Accepted {
		t.Fatalf("request: %+v, %v", reply, err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

// TestRefusedSubscriptionIsAClearError: with the SUBACK no longer awaited
// before the PUBLISH, a refused subscription still ends the request in an
// error that says so.
func TestRefusedSubscriptionIsAClearError(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{RefuseSubscribe: func(f string) bool { return strings.HasSuffix(f, "/rejected") }})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ep, _ := ParseEndpoint("mqtt://" + b.Addr)
	conn, err := Dial(ctx, Config{Endpoint: ep, ClientID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = conn.Request(ctx, jobs.GetPendingTopic("t"), []byte(`{"clientToken":"x"}`), "x")
	if err == nil || !strings.Contains(err.Error(), "refused the subscription to $aws/things/t/jobs/get/rejected (SUBACK 0x80)") {
		t.Fatalf("got %v", err)
	}
}
