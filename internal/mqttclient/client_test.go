package mqttclient_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
	"github.com/iotjobs/iotjobs/internal/mqttclient/mqtttest"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

const thing = "test-thing"

// echoService answers every request on .../accepted with the request's
// client token, the way the Jobs service does.
func echoService(topic string, payload []byte) []mqtttest.Message {
	token := jobs.ClientTokenOf(payload)
	reply, _ := json.Marshal(map[string]any{"timestamp": 1, "clientToken": token})
	return []mqtttest.Message{{Topic: topic + "/accepted", Payload: reply}}
}

func endpoint(t *testing.T, addr string, tls bool) mqttclient.Endpoint {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return mqttclient.Endpoint{Host: host, Port: p, TLS: tls}
}

func dial(t *testing.T, cfg mqttclient.Config) *mqttclient.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := mqttclient.Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func request(t *testing.T, c *mqttclient.Conn, token string, timeout time.Duration) (mqttclient.Reply, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	payload, _ := json.Marshal(jobs.GetPendingRequest{ClientToken: token})
	return c.Request(ctx, jobs.GetPendingTopic(thing), payload, token)
}

func TestRequestAccepted(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{Respond: echoService})
	var trace strings.Builder
	var mu sync.Mutex
	c := dial(t, mqttclient.Config{Endpoint: endpoint(t, b.Addr, false), ClientID: thing, Trace: func(f string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(&trace, f+"\n", a...)
	}})
	reply, err := request(t, c, "tok-1", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !reply.Accepted || reply.Topic != "$aws/things/test-thing/jobs/get/accepted" || string(reply.Payload) != `{"clientToken":"tok-1","timestamp":1}` {
		t.Errorf("reply = %+v %s", reply, reply.Payload)
	}
	// A second request on the same connection reuses the subscription.
	if _, err := request(t, c, "tok-2", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if n := strings.Count(trace.String(), "> SUBSCRIBE"); n != 1 {
		t.Errorf("%d SUBSCRIBEs for two requests, want 1:\n%s", n, trace.String())
	}
	mu.Unlock()
	if got := b.Published(); len(got) != 2 || got[0].Topic != "$aws/things/test-thing/jobs/get" {
		t.Errorf("published %+v", got)
	}
}

func TestRequestRejectedAndOtherTokensIgnored(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{Respond: func(topic string, payload []byte) []mqtttest.Message {
		token := jobs.ClientTokenOf(payload)
		return []mqtttest.Message{
			{Topic: topic + "/accepted", Payload: []byte(`{"timestamp":1,"clientToken":"someone-else"}`)},
			{Topic: topic + "/accepted", Payload: []byte(`not json`)},
			{Topic: topic + "/rejected", Payload: []byte(`{"code":"InvalidRequest","message":"no","clientToken":"` + token + `","timestamp":2}`)},
		}
	}})
	c := dial(t, mqttclient.Config{Endpoint: endpoint(t, b.Addr, false), ClientID: "c1"})
	reply, err := request(t, c, "mine", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if reply.Accepted || !strings.Contains(string(reply.Payload), `"clientToken":"mine"`) {
		t.Errorf("reply = %+v %s, want the rejected one with our token", reply, reply.Payload)
	}
}

func TestRequestTimeout(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{}) // nobody answers
	c := dial(t, mqttclient.Config{Endpoint: endpoint(t, b.Addr, false), ClientID: "c1"})
	start := time.Now()
	_, err := request(t, c, "tok", 300*time.Millisecond)
	var te *mqttclient.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a TimeoutError", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timed out after %s", d)
	}
	if !strings.Contains(err.Error(), "no reply to get-pending") {
		t.Errorf("message %q", err)
	}
}

func TestRequestHangUpAfterPublishExplainsPolicy(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{HangUpOn: func(topic string) bool { return strings.HasSuffix(topic, "/jobs/get") }})
	c := dial(t, mqttclient.Config{Endpoint: endpoint(t, b.Addr, false), ClientID: "c1"})
	_, err := request(t, c, "tok", 5*time.Second)
	var ce *mqttclient.ConnectionError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a ConnectionError", err)
	}
	if !ce.PolicySuspect {
		t.Errorf("a hang-up right after our packets is not marked as a policy suspect: %v", err)
	}
	for _, want := range []string{"closed the connection right after our SUBSCRIBE to $aws/things/test-thing/jobs/get/accepted, $aws/things/test-thing/jobs/get/rejected and PUBLISH to $aws/things/test-thing/jobs/get",
		"policy", "iot:Publish on topic/$aws/things/test-thing/jobs/get", "iot:Subscribe on topicfilter/$aws/things/test-thing/jobs/get/rejected", "same client id"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestDialRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = mqttclient.Dial(ctx, mqttclient.Config{Endpoint: endpoint(t, addr, false), ClientID: "c1"})
	var ce *mqttclient.ConnectionError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "connection refused by "+addr) || ce.Hint == "" {
		t.Fatalf("err = %v, want connection refused with a hint", err)
	}
}

func TestDialDNSFailure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := mqttclient.Dial(ctx, mqttclient.Config{Endpoint: mqttclient.Endpoint{Host: "no-such-host.invalid", Port: 1883}, ClientID: "c1"})
	if err == nil || !strings.Contains(err.Error(), `cannot resolve host "no-such-host.invalid"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestDialTimeoutWhenServerNeverAnswers(t *testing.T) {
	// A listener that accepts and then says nothing: the CONNACK never comes.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = mqttclient.Dial(ctx, mqttclient.Config{Endpoint: endpoint(t, l.Addr().String(), false), ClientID: "c1"})
	var ce *mqttclient.ConnectionError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a ConnectionError", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("gave up after %s", d)
	}
}

func TestDialCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := mqttclient.Dial(ctx, mqttclient.Config{Endpoint: mqttclient.Endpoint{Host: "127.0.0.1", Port: 9}, ClientID: "c1"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func tlsBroker(t *testing.T, pki testutil.PKI, clientAuth bool, respond bool) *mqtttest.Broker {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(pki.ServerCertFile, pki.ServerKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{mqttclient.ALPNProtocol}}
	if clientAuth {
		ca, err := mqttclient.LoadTLSConfig(mqttclient.Endpoint{}, mqttclient.TLSFiles{CA: pki.CAFile})
		if err != nil {
			t.Fatal(err)
		}
		cfg.ClientCAs = ca.RootCAs
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	opts := mqtttest.Options{TLS: cfg}
	if respond {
		opts.Respond = echoService
	}
	return mqtttest.Start(t, opts)
}

func TestTLS(t *testing.T) {
	pki := testutil.NewPKI(t)
	other := testutil.NewPKI(t)
	plain := tlsBroker(t, pki, false, true)
	mutual := tlsBroker(t, pki, true, true)

	tests := []struct {
		name    string
		broker  *mqtttest.Broker
		host    string
		files   mqttclient.TLSFiles
		wantErr string // empty: the request succeeds
	}{
		{"server auth", plain, "127.0.0.1", mqttclient.TLSFiles{CA: pki.CAFile}, ""},
		{"server auth by name", plain, "localhost", mqttclient.TLSFiles{CA: pki.CAFile}, ""},
		{"client cert", mutual, "127.0.0.1", mqttclient.TLSFiles{CA: pki.CAFile, Cert: pki.ClientCertFile, Key: pki.ClientKeyFile}, ""},
		{"system roots do not know the test CA", plain, "127.0.0.1", mqttclient.TLSFiles{}, "signed by an unknown authority"},
		{"wrong CA", plain, "127.0.0.1", mqttclient.TLSFiles{CA: other.CAFile}, "signed by an unknown authority"},
		{"client cert missing", mutual, "127.0.0.1", mqttclient.TLSFiles{CA: pki.CAFile}, "the server rejected our client certificate"},
		{"client cert from another CA", mutual, "127.0.0.1", mqttclient.TLSFiles{CA: pki.CAFile, Cert: other.ClientCertFile, Key: other.ClientKeyFile}, "the server rejected our client certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := endpoint(t, tt.broker.Addr, true)
			ep.Host = tt.host
			cfg, err := mqttclient.LoadTLSConfig(ep, tt.files)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := mqttclient.Dial(ctx, mqttclient.Config{Endpoint: ep, ClientID: "c-" + strings.ReplaceAll(tt.name, " ", "-"), TLS: cfg})
			if err == nil {
				defer c.Close()
				_, err = request(t, c, "tok", 5*time.Second)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "":
				var ce *mqttclient.ConnectionError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.wantErr) || ce.Hint == "" {
					t.Fatalf("err = %v, want a ConnectionError with a hint about %q", err, tt.wantErr)
				}
			}
		})
	}
}

func TestTLSHostnameMismatch(t *testing.T) {
	pki := testutil.NewPKI(t)
	b := tlsBroker(t, pki, false, false)
	ep := endpoint(t, b.Addr, true)
	cfg, err := mqttclient.LoadTLSConfig(ep, mqttclient.TLSFiles{CA: pki.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	cfg.ServerName = "broker.example.com" // the certificate is for localhost and 127.0.0.1
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = mqttclient.Dial(ctx, mqttclient.Config{Endpoint: ep, ClientID: "c1", TLS: cfg})
	if err == nil || !strings.Contains(err.Error(), `not valid for`) {
		t.Fatalf("err = %v", err)
	}
}

func TestPlainClientOnTLSPort(t *testing.T) {
	pki := testutil.NewPKI(t)
	b := tlsBroker(t, pki, false, false)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := mqttclient.Dial(ctx, mqttclient.Config{Endpoint: endpoint(t, b.Addr, false), ClientID: "c1"})
	var ce *mqttclient.ConnectionError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a ConnectionError", err)
	}
}

func TestTLSClientOnPlainPort(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := mqttclient.Dial(ctx, mqttclient.Config{Endpoint: endpoint(t, b.Addr, true), ClientID: "c1"})
	if err == nil || !strings.Contains(err.Error(), "TLS") || !strings.Contains(err.Error(), "mqtt://") {
		t.Fatalf("err = %v", err)
	}
}

// TestALPNOn443 needs to listen on port 443 of the loopback address, which
// only works with the privilege to do so; elsewhere it is skipped.
func TestALPNOn443(t *testing.T) {
	pki := testutil.NewPKI(t)
	cert, err := tls.LoadX509KeyPair(pki.ServerCertFile, pki.ServerKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:443", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{mqttclient.ALPNProtocol}})
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.1:443: %v", err)
	}
	defer l.Close()
	got := make(chan string, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		tc := conn.(*tls.Conn)
		if tc.Handshake() == nil {
			got <- tc.ConnectionState().NegotiatedProtocol
		}
	}()
	ep := mqttclient.Endpoint{Host: "127.0.0.1", Port: 443, TLS: true}
	cfg, err := mqttclient.LoadTLSConfig(ep, mqttclient.TLSFiles{CA: pki.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _ = mqttclient.Dial(ctx, mqttclient.Config{Endpoint: ep, ClientID: "c1", TLS: cfg}) // no MQTT behind it
	select {
	case p := <-got:
		if p != mqttclient.ALPNProtocol {
			t.Errorf("negotiated ALPN %q, want %q", p, mqttclient.ALPNProtocol)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no TLS handshake on 443")
	}
}

func TestSubscribeAndPublish(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	ep := endpoint(t, b.Addr, false)
	sub := dial(t, mqttclient.Config{Endpoint: ep, ClientID: "sub"})
	pub := dial(t, mqttclient.Config{Endpoint: ep, ClientID: "pub"})
	got := make(chan string, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sub.Subscribe(ctx, []string{"$aws/things/+/jobs/notify", "$aws/things/+/jobs/notify-next"}, func(topic string, payload []byte) {
		got <- topic + " " + string(payload)
	}); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, "$aws/things/t1/jobs/notify-next", []byte(`{"timestamp":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, "$aws/things/t1/jobs/other", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m != `$aws/things/t1/jobs/notify-next {"timestamp":1}` {
			t.Errorf("got %q", m)
		}
	case <-ctx.Done():
		t.Fatal("no message")
	}
	select {
	case m := <-got:
		t.Errorf("unexpected message %q", m)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestRequestOnMosquitto runs the request/reply exchange on Mosquitto 2,
// with a second client playing the service the way attach mode does.
func TestRequestOnMosquitto(t *testing.T) {
	addr := testutil.StartMosquitto(t).Addr
	ep := endpoint(t, addr, false)
	service := dial(t, mqttclient.Config{Endpoint: ep, ClientID: "service"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := service.Subscribe(ctx, []string{"$aws/things/+/jobs/get"}, func(topic string, payload []byte) {
		for _, m := range echoService(topic, payload) {
			go func() { _ = service.Publish(context.Background(), m.Topic, m.Payload) }()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, mqttclient.Config{Endpoint: ep, ClientID: thing})
	reply, err := request(t, c, "tok-m", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !reply.Accepted || string(reply.Payload) != `{"clientToken":"tok-m","timestamp":1}` {
		t.Errorf("reply %+v %s", reply, reply.Payload)
	}
}

// TestAutoReconnectResubscribes: a long-lived client gets its
// subscriptions back after the broker drops it.
func TestAutoReconnectResubscribes(t *testing.T) {
	addr := testutil.StartMosquitto(t).Addr
	ep := endpoint(t, addr, false)
	connected := make(chan struct{}, 4)
	lost := make(chan error, 4)
	sub := dial(t, mqttclient.Config{Endpoint: ep, ClientID: "long-lived", AutoReconnect: true,
		OnConnect: func() { connected <- struct{}{} }, OnConnectionLost: func(err error) { lost <- err }})
	<-connected
	got := make(chan string, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := sub.Subscribe(ctx, []string{"a/b"}, func(topic string, _ []byte) { got <- topic }); err != nil {
		t.Fatal(err)
	}
	// Another client with the same id pushes the first one off.
	intruder := dial(t, mqttclient.Config{Endpoint: ep, ClientID: "long-lived"})
	select {
	case <-lost:
	case <-ctx.Done():
		t.Fatal("connection not lost")
	}
	intruder.Close()
	select {
	case <-connected:
	case <-ctx.Done():
		t.Fatal("no reconnect")
	}
	pub := dial(t, mqttclient.Config{Endpoint: ep, ClientID: "pub"})
	// The re-subscription runs right after the reconnect; publish until it
	// takes effect.
	for {
		if err := pub.Publish(ctx, "a/b", []byte("x")); err != nil {
			t.Fatal(err)
		}
		select {
		case topic := <-got:
			if topic != "a/b" {
				t.Fatalf("got %q", topic)
			}
			return
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("no message after the reconnect")
		}
	}
}

// TestLossSeenWhilePacketsWaitForTheWriter: a request whose SUBSCRIBE and
// PUBLISH cannot reach the socket yet (paho's writer is stuck on a full
// one) sees the server hang up at once. paho's own calls would hold it
// until their write timeout (10 s); CI saw the same when a policy denial
// closed the connection between paho's check and its handover of the
// PUBLISH, and the CLI waited for a reply that could not come.
func TestLossSeenWhilePacketsWaitForTheWriter(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	hangUp := make(chan struct{})
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		buf := make([]byte, 1024)
		_, _ = c.Read(buf)                             // CONNECT
		_, _ = c.Write([]byte{0x20, 0x02, 0x00, 0x00}) // CONNACK
		<-hangUp                                       // reading nothing more
		c.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ep, _ := mqttclient.ParseEndpoint("mqtt://" + l.Addr().String())
	conn, err := mqttclient.Dial(ctx, mqttclient.Config{Endpoint: ep, ClientID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// 64 MiB the server never reads: more than both sockets' buffers hold.
	big := make([]byte, 1<<20)
	for range 64 {
		go func() { _ = conn.Publish(ctx, "big", big) }()
	}
	time.Sleep(500 * time.Millisecond)
	done := make(chan error, 1)
	go func() {
		_, err := conn.Request(ctx, jobs.GetPendingTopic(thing), []byte(`{"clientToken":"x"}`), "x")
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	close(hangUp)
	closed := time.Now()
	err = <-done
	var lost *mqttclient.ConnectionError
	if !errors.As(err, &lost) || !lost.Lost {
		t.Fatalf("got %v, want the connection lost", err)
	}
	// paho's write timeout is 10 s: a request held by it took that long.
	if waited := time.Since(closed); waited > 5*time.Second {
		t.Errorf("the loss was reported %s after the server hung up", waited.Round(time.Millisecond))
	}
}
