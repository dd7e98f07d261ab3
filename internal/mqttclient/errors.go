// Package mqttclient is the device side's only door to the MQTT client
// library: endpoint parsing, TLS, connect, one-shot requests and watches.
package mqttclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// ConnectionError is a failure to connect, or a connection lost before the
// reply (exit 3). Hint, when set, tells the user what to do.
type ConnectionError struct {
	Op   string // "connect", "subscribe", "publish", "wait for the reply"
	Err  error
	Hint string
	// Lost: the connection was up and dropped, rather than never made.
	Lost bool
	// PolicySuspect: the server hung up right after we sent something,
	// which is how AWS IoT answers what a policy denies.
	PolicySuspect bool
	// Within is, for a connect that did not complete in time, the bound
	// it had; a command states the one the user gave instead.
	Within time.Duration
}

func (e *ConnectionError) Error() string {
	msg := e.Op + ": " + e.Err.Error()
	if e.Within > 0 {
		msg += " within " + e.Within.Round(time.Millisecond).String()
	}
	if e.Hint != "" {
		msg += "\n  hint: " + e.Hint
	}
	return msg
}

func (e *ConnectionError) Unwrap() error { return e.Err }

// TimeoutError is no reply within the deadline (exit 4).
type TimeoutError struct {
	Op    string
	After time.Duration // zero when unknown
	Hint  string
}

func (e *TimeoutError) Error() string {
	msg := "no reply to " + e.Op
	if e.After > 0 {
		msg += " within " + e.After.String()
	} else {
		msg += " in time"
	}
	if e.Hint != "" {
		msg += "\n  hint: " + e.Hint
	}
	return msg
}

// connackHints says what to do about each CONNACK refusal.
var connackHints = map[byte]string{
	packets.ErrRefusedBadProtocolVersion:    "the server does not speak MQTT 3.1.1",
	packets.ErrRefusedIDRejected:            "the server does not accept this client id; choose another with --client-id",
	packets.ErrRefusedServerUnavailable:     "the server is up but not accepting clients; try again later",
	packets.ErrRefusedBadUsernameOrPassword: "the server wants other credentials",
	packets.ErrRefusedNotAuthorised:         "the server does not authorise this client: on AWS IoT, check that the certificate is ACTIVE and its policy allows iot:Connect for this client id (iotjobs policy -t THING --check POLICY.json says)",
}

// classifyConnect turns a failed connection into a ConnectionError that
// says what went wrong and what to do. dialErr is our dialer's own error
// (TCP, DNS, TLS handshake), nil when the socket was up and the MQTT
// handshake failed; tokenErr is paho's.
func classifyConnect(ep Endpoint, clientID string, dialErr, tokenErr error) *ConnectionError {
	ce := &ConnectionError{Op: "connect"}
	if dialErr == nil {
		for code, refusal := range packets.ConnErrors {
			if code != packets.ErrNetworkError && code != packets.Accepted && errors.Is(tokenErr, refusal) {
				ce.Err = fmt.Errorf("%s refused the connection: CONNACK code %d (%v)", ep.Address(), code, refusal)
				ce.Hint = connackHints[code]
				return ce
			}
		}
		// The socket is up but the MQTT handshake failed: under TLS 1.3 a
		// rejected client certificate only shows here, as an alert.
		ce.Hint, ce.Err = explainNetError(ep, tokenErr)
		if ce.Hint == "" && (errors.Is(tokenErr, io.EOF) || errors.Is(tokenErr, syscall.ECONNRESET)) {
			ce.Err = fmt.Errorf("%s closed the connection during the MQTT handshake (%v)", ep.Address(), unwrapPaho(tokenErr))
			ce.Hint = fmt.Sprintf("on AWS IoT this means the certificate or its policy does not allow iot:Connect as client id %q", clientID)
			if !ep.TLS {
				ce.Hint = "is this a TLS port? use mqtts://" + ep.Address()
			}
		}
		return ce
	}
	ce.Hint, ce.Err = explainNetError(ep, dialErr)
	return ce
}

// unwrapPaho drops paho's "network Error : " prefix.
func unwrapPaho(err error) error {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		if errs := u.Unwrap(); len(errs) == 2 && errs[0] == packets.ErrorNetworkError {
			return errs[1]
		}
	}
	return err
}

// explainNetError describes DNS, TCP and TLS failures and what to do about
// them; the hint is empty when there is nothing specific to suggest.
func explainNetError(ep Endpoint, err error) (hint string, explained error) {
	var (
		dnsErr      *net.DNSError
		unknownCA   x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		invalidErr  x509.CertificateInvalidError
		opErr       *net.OpError
		recordErr   tls.RecordHeaderError
		verifyErr   *tls.CertificateVerificationError
		netErr      net.Error
		addr        = ep.Address()
		tlsEndpoint = "mqtts://" + ep.Address()
	)
	switch {
	case errors.As(err, &dnsErr):
		return "check the host name of --endpoint (for AWS IoT: aws iot describe-endpoint --endpoint-type iot:Data-ATS)", fmt.Errorf("cannot resolve host %q: %v", ep.Host, dnsErr.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing is listening there: start the emulator (iotjobs emulator) or check the host and port of --endpoint", fmt.Errorf("connection refused by %s", addr)
	case errors.As(err, &unknownCA):
		return "give the CA that signed it with --ca (for AWS IoT: Amazon Root CA 1)", fmt.Errorf("TLS: the server certificate of %s is signed by an unknown authority", addr)
	case errors.As(err, &hostErr):
		return "connect with the host name the certificate was issued for", fmt.Errorf("TLS: the server certificate is not valid for %q: %v", ep.Host, hostErr.Error())
	case errors.As(err, &invalidErr) && invalidErr.Reason == x509.Expired:
		return "check the clock of this machine, or renew the server certificate", fmt.Errorf("TLS: the server certificate of %s has expired or is not yet valid: %v", addr, invalidErr.Detail)
	case errors.As(err, &verifyErr):
		return "give the CA that signed it with --ca", fmt.Errorf("TLS: the server certificate of %s could not be verified: %v", addr, verifyErr.Err)
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		// The server sent a TLS alert; crypto/tls does not export its type.
		msg := opErr.Err.Error()
		for _, certProblem := range []string{"bad certificate", "unsupported certificate", "revoked", "expired", "unknown certificate", "certificate unknown", "unknown certificate authority", "access denied", "certificate required"} {
			if strings.Contains(msg, certProblem) {
				return "give --cert and --key of a certificate the server trusts (on AWS IoT: registered and ACTIVE)", fmt.Errorf("TLS: the server rejected our client certificate (%s)", msg)
			}
		}
		if strings.Contains(msg, "no application protocol") {
			return "ALPN is offered only on port 443; use port 8883", fmt.Errorf("TLS: the server does not accept ALPN %q (%s)", ALPNProtocol, msg)
		}
		return "", fmt.Errorf("TLS handshake with %s failed: %s", addr, msg)
	case errors.As(err, &recordErr):
		return "it looks like a plain MQTT port: use mqtt://" + addr, fmt.Errorf("TLS: %s did not answer with TLS", addr)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "check the endpoint and the network; raise --timeout on a slow link", fmt.Errorf("timed out connecting to %s", addr)
	case !ep.TLS && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)):
		return "is this a TLS port? use " + tlsEndpoint, fmt.Errorf("%s closed the connection (%v)", addr, unwrapPaho(err))
	case ep.TLS && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)):
		return "is this a plain MQTT port? use mqtt://" + addr, fmt.Errorf("%s closed the connection during the TLS handshake (%v)", addr, unwrapPaho(err))
	}
	return "", unwrapPaho(err)
}
