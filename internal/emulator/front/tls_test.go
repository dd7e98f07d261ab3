package front_test

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"

	"github.com/iotjobs/iotjobs/internal/testutil"
)

const alpnAWS = "x-amzn-mqtt-ca"

func certPool(t *testing.T, caFile string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	return pool
}

func clientCert(t *testing.T, pki testutil.PKI) []tls.Certificate {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(pki.ClientCertFile, pki.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return []tls.Certificate{cert}
}

// getPendingOver runs one get-pending exchange on an established device.
func getPendingOver(t *testing.T, dev *testutil.Device) {
	t.Helper()
	dev.Publish("$aws/things/thing-1/jobs/get", `{"clientToken":"tls"}`)
	if reply := dev.Next(); reply.Topic != "$aws/things/thing-1/jobs/get/accepted" {
		t.Fatalf("reply on %s: %s", reply.Topic, reply.Payload)
	}
}

func TestMQTTSServesWithAndWithoutALPN(t *testing.T) {
	pki := testutil.NewPKI(t)
	emu := testutil.StartEmulator(t, testutil.WithTLS(pki.ServerCertFile, pki.ServerKeyFile))
	roots := certPool(t, pki.CAFile)

	for _, offer := range [][]string{{alpnAWS}, nil} {
		conn, err := tls.Dial("tcp", emu.MQTTSAddr, &tls.Config{RootCAs: roots, NextProtos: offer})
		if err != nil {
			t.Fatalf("handshake offering ALPN %q: %v", offer, err)
		}
		want := ""
		if offer != nil {
			want = alpnAWS
		}
		if got := conn.ConnectionState().NegotiatedProtocol; got != want {
			t.Errorf("offering %q negotiated %q, want %q", offer, got, want)
		}
		conn.Close()
	}
	if conn, err := tls.Dial("tcp", emu.MQTTSAddr, &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}}); err == nil {
		conn.Close()
		t.Error("a client offering only http/1.1 was served MQTT")
	}

	dev := testutil.ConnectDevice(t, "mqtts://"+emu.MQTTSAddr, "thing-1",
		testutil.WithDeviceTLS(&tls.Config{RootCAs: roots, NextProtos: []string{alpnAWS}}))
	getPendingOver(t, dev)
}

func TestMQTTSClientCertificateAuth(t *testing.T) {
	pki := testutil.NewPKI(t)
	stranger := testutil.NewPKI(t)
	emu := testutil.StartEmulator(t,
		testutil.WithTLS(pki.ServerCertFile, pki.ServerKeyFile), testutil.WithClientCA(pki.CAFile))
	roots := certPool(t, pki.CAFile)
	endpoint := "mqtts://" + emu.MQTTSAddr

	refused := map[string]*tls.Config{
		"no client certificate":              {RootCAs: roots},
		"a certificate signed by another CA": {RootCAs: roots, Certificates: clientCert(t, stranger)},
	}
	for name, cfg := range refused {
		t.Run(name, func(t *testing.T) {
			_, err := testutil.DialDevice(t, endpoint, "thing-1", testutil.WithDeviceTLS(cfg))
			if err == nil {
				t.Fatal("connected")
			}
			t.Logf("refused: %v", err)
		})
	}

	dev := testutil.ConnectDevice(t, endpoint, "thing-1",
		testutil.WithDeviceTLS(&tls.Config{RootCAs: roots, Certificates: clientCert(t, pki), NextProtos: []string{alpnAWS}}))
	getPendingOver(t, dev)
}
