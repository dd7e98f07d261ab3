package mqttclient

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Default ports of the two schemes.
const (
	DefaultPlainPort = 1883
	DefaultTLSPort   = 8883
	// alpnPort is where AWS IoT serves MQTT over TLS only to clients that
	// offer ALPN x-amzn-mqtt-ca (it shares 443 with HTTPS).
	alpnPort = 443
	// ALPNProtocol is the protocol AWS IoT expects for MQTT with X.509 on 443.
	ALPNProtocol = "x-amzn-mqtt-ca"
)

// Endpoint is where to connect and whether to speak TLS there.
type Endpoint struct {
	Host string // a DNS name or an IP address, IPv6 without brackets
	Port int
	TLS  bool
}

// Address is host:port, with brackets around an IPv6 address.
func (e Endpoint) Address() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// String is the canonical URL form; ParseEndpoint(e.String()) == e.
func (e Endpoint) String() string {
	if e.TLS {
		return "mqtts://" + e.Address()
	}
	return "mqtt://" + e.Address()
}

// ALPN returns the protocols to offer in the TLS handshake: AWS IoT needs
// x-amzn-mqtt-ca to serve MQTT on 443, and nothing on other ports.
func (e Endpoint) ALPN() []string {
	if e.TLS && e.Port == alpnPort {
		return []string{ALPNProtocol}
	}
	return nil
}

// IsAWSIoT reports whether the endpoint is AWS IoT Core's by its name
// (*.amazonaws.com, and *.amazonaws.com.cn in the China regions). A
// custom domain cannot be told apart.
func (e Endpoint) IsAWSIoT() bool {
	host := strings.TrimSuffix(strings.ToLower(e.Host), ".")
	return strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn")
}

// IsLoopback reports whether the endpoint is on this machine (localhost or
// a loopback address), where no real device can share the client id.
func (e Endpoint) IsLoopback() bool {
	host := strings.ToLower(strings.TrimSuffix(e.Host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(e.Host)
	return ip != nil && ip.IsLoopback()
}

// EndpointError says why an endpoint string is not usable.
type EndpointError struct {
	Input  string
	Reason string
}

func (e *EndpointError) Error() string {
	return fmt.Sprintf("invalid endpoint %q: %s (use mqtt://host:port for plain MQTT, mqtts://host[:port] or host[:port] for TLS)", e.Input, e.Reason)
}

// ParseEndpoint reads mqtt://host[:port] (plain, port 1883 by default),
// mqtts://host[:port] (TLS, port 8883 by default) and a bare host[:port],
// which means mqtts as on AWS IoT. IPv6 addresses go in brackets. Anything
// else (other schemes, paths, user info, queries) is refused, so a typo
// never turns into a connection somewhere unexpected.
func ParseEndpoint(s string) (Endpoint, error) {
	bad := func(reason string) (Endpoint, error) { return Endpoint{}, &EndpointError{Input: s, Reason: reason} }
	if s == "" {
		return bad("it is empty")
	}
	if strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return bad("it contains spaces or control characters")
	}
	ep := Endpoint{TLS: true, Port: DefaultTLSPort}
	rest := s
	if scheme, after, ok := strings.Cut(s, "://"); ok {
		switch strings.ToLower(scheme) {
		case "mqtt":
			ep = Endpoint{TLS: false, Port: DefaultPlainPort}
		case "mqtts":
		default:
			return bad(fmt.Sprintf("scheme %q is not supported", scheme))
		}
		rest = strings.TrimSuffix(after, "/")
	}
	if i := strings.IndexAny(rest, "/?#@"); i >= 0 {
		return bad(fmt.Sprintf("unexpected %q: an endpoint has no path, query or user", rest[i]))
	}
	host, port, err := splitHostPort(rest)
	if err != nil {
		return bad(err.Error())
	}
	if err := checkHost(host); err != nil {
		return bad(err.Error())
	}
	ep.Host = host
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '+' || port[0] == '0' {
			return bad(fmt.Sprintf("port %q is not a number between 1 and 65535", port))
		}
		ep.Port = n
	}
	return ep, nil
}

// splitHostPort splits host[:port] and [ipv6][:port]; port may be empty.
func splitHostPort(s string) (host, port string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", errors.New("missing ']' after the IPv6 address")
		}
		host, after := s[1:end], s[end+1:]
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil {
			return "", "", fmt.Errorf("%q in brackets is not an IPv6 address", host)
		}
		if after == "" {
			return host, "", nil
		}
		if !strings.HasPrefix(after, ":") || len(after) == 1 {
			return "", "", errors.New("expected :port after the IPv6 address")
		}
		return host, after[1:], nil
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, "", nil
	case 1:
		host, port, _ = strings.Cut(s, ":")
		if port == "" {
			return "", "", errors.New("the port after ':' is missing")
		}
		return host, port, nil
	}
	return "", "", errors.New("an IPv6 address must be in brackets, e.g. [::1]:1883")
}

// checkHost accepts IP addresses and host names of letters, digits, '-',
// '_' and '.', in non-empty labels of at most 63 characters.
func checkHost(host string) error {
	if host == "" {
		return errors.New("the host is missing")
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	if len(host) > 253 {
		return errors.New("the host name is longer than 253 characters")
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' {
			return fmt.Errorf("%q is not a valid host name", host)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("%q is not a valid host name", host)
			}
		}
	}
	return nil
}
