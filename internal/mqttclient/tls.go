package mqttclient

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// TLSFiles are the PEM files of the X.509 setup: the client certificate and
// its key (both or neither) and the CA that signed the server's certificate
// (empty for the system roots).
type TLSFiles struct {
	Cert, Key, CA string
}

// Empty reports whether no file is given.
func (f TLSFiles) Empty() bool { return f.Cert == "" && f.Key == "" && f.CA == "" }

// TLSFileError is a certificate, key or CA file that cannot be used. Its
// message names the file and the problem, never the file's contents.
type TLSFileError struct {
	What string // "client certificate", "private key", "CA file"
	Path string
	Err  error
}

func (e *TLSFileError) Error() string { return fmt.Sprintf("%s %s: %v", e.What, e.Path, e.Err) }
func (e *TLSFileError) Unwrap() error { return e.Err }

// LoadTLSConfig builds the TLS configuration for ep: server verification is
// always on (there is no switch to turn it off), SNI is the endpoint's host,
// ALPN x-amzn-mqtt-ca is offered on port 443, the client certificate is
// presented when given, and the CA file replaces the system roots when given.
// Every file is read and parsed here, so a bad one is reported before any
// connection is attempted.
func LoadTLSConfig(ep Endpoint, files TLSFiles) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: ep.Host,
		NextProtos: ep.ALPN(),
	}
	switch {
	case files.Cert != "" && files.Key == "":
		return nil, &TLSFileError{"client certificate", files.Cert, errors.New("given without its private key")}
	case files.Key != "" && files.Cert == "":
		return nil, &TLSFileError{"private key", files.Key, errors.New("given without its client certificate")}
	case files.Cert != "":
		certPEM, err := readFile("client certificate", files.Cert)
		if err != nil {
			return nil, err
		}
		keyPEM, err := readFile("private key", files.Key)
		if err != nil {
			return nil, err
		}
		if !hasPEMBlock(certPEM, "CERTIFICATE") {
			return nil, &TLSFileError{"client certificate", files.Cert, errors.New("no PEM CERTIFICATE block found")}
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			// crypto/tls's messages describe the mismatch or the missing
			// block without quoting the key.
			return nil, &TLSFileError{"client certificate and key", files.Cert + " + " + files.Key, err}
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if files.CA != "" {
		caPEM, err := readFile("CA file", files.CA)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, &TLSFileError{"CA file", files.CA, errors.New("no PEM certificate found")}
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

func readFile(what, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is already in TLSFileError
		}
		return nil, &TLSFileError{what, path, fmt.Errorf("cannot be read: %w", err)}
	}
	return b, nil
}

func hasPEMBlock(data []byte, blockType string) bool {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return false
		}
		if block.Type == blockType {
			return true
		}
	}
}
