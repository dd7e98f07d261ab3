package testutil

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
)

func TestNewPKIChainsVerify(t *testing.T) {
	p := NewPKI(t)
	caPEM, err := os.ReadFile(p.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA file holds no certificate")
	}
	server, err := tls.LoadX509KeyPair(p.ServerCertFile, p.ServerKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"127.0.0.1", "localhost"} {
		if _, err := server.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: host}); err != nil {
			t.Errorf("server certificate for %s: %v", host, err)
		}
	}
	client, err := tls.LoadX509KeyPair(p.ClientCertFile, p.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	opts := x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if _, err := client.Leaf.Verify(opts); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	if _, err := client.Leaf.Verify(x509.VerifyOptions{Roots: x509.NewCertPool(), KeyUsages: opts.KeyUsages}); err == nil {
		t.Error("client certificate verified without its CA")
	}
}
