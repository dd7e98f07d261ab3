package mqttclient

import (
	"strings"
	"testing"
)

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		in   string
		want Endpoint
	}{
		{"mqtt://127.0.0.1:1883", Endpoint{Host: "127.0.0.1", Port: 1883}},
		{"mqtt://localhost", Endpoint{Host: "localhost", Port: 1883}},
		{"mqtt://broker.example.com:1884/", Endpoint{Host: "broker.example.com", Port: 1884}},
		{"MQTT://h:1", Endpoint{Host: "h", Port: 1}},
		{"mqtts://a1b2-ats.iot.eu-west-1.amazonaws.com", Endpoint{Host: "a1b2-ats.iot.eu-west-1.amazonaws.com", Port: 8883, TLS: true}},
		{"mqtts://h:443", Endpoint{Host: "h", Port: 443, TLS: true}},
		{"a1b2-ats.iot.eu-west-1.amazonaws.com", Endpoint{Host: "a1b2-ats.iot.eu-west-1.amazonaws.com", Port: 8883, TLS: true}},
		{"a1b2-ats.iot.eu-west-1.amazonaws.com:443", Endpoint{Host: "a1b2-ats.iot.eu-west-1.amazonaws.com", Port: 443, TLS: true}},
		{"[::1]:1883", Endpoint{Host: "::1", Port: 1883, TLS: true}},
		{"mqtt://[::1]:1883", Endpoint{Host: "::1", Port: 1883}},
		{"mqtts://[2001:db8::1]", Endpoint{Host: "2001:db8::1", Port: 8883, TLS: true}},
		{"10.0.0.1:65535", Endpoint{Host: "10.0.0.1", Port: 65535, TLS: true}},
		{"my_host", Endpoint{Host: "my_host", Port: 8883, TLS: true}},
	}
	for _, tt := range tests {
		got, err := ParseEndpoint(tt.in)
		if err != nil {
			t.Errorf("ParseEndpoint(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseEndpoint(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		again, err := ParseEndpoint(got.String())
		if err != nil || again != got {
			t.Errorf("ParseEndpoint(%q) = %+v, %v: String() does not round-trip", got.String(), again, err)
		}
	}
}

func TestParseEndpointRejects(t *testing.T) {
	tests := []struct{ in, reason string }{
		{"", "empty"},
		{"ws://h:80", `scheme "ws" is not supported`},
		{"https://h", `scheme "https" is not supported`},
		{"tcp://h:1883", `scheme "tcp" is not supported`},
		{"mqtt://", "host is missing"},
		{"mqtt://:1883", "host is missing"},
		{"mqtt://h:", "port after ':' is missing"},
		{"mqtt://h:0", "between 1 and 65535"},
		{"mqtt://h:65536", "between 1 and 65535"},
		{"mqtt://h:01883", "between 1 and 65535"},
		{"mqtt://h:+1", "between 1 and 65535"},
		{"mqtt://h:port", "between 1 and 65535"},
		{"mqtt://h:1883/mqtt", "no path"},
		{"mqtt://user@h:1883", "no path, query or user"},
		{"mqtt://h:1883?x=1", "no path"},
		{"h 1", "spaces"},
		{"h\n", "control"},
		{"::1", "must be in brackets"},
		{"[::1", "missing ']'"},
		{"[127.0.0.1]:1", "not an IPv6 address"},
		{"[::1]1883", "expected :port"},
		{"-h", "not a valid host name"},
		{"a..b", "not a valid host name"},
		{"h*st", "not a valid host name"},
		{strings.Repeat("a", 64) + ".com", "not a valid host name"},
	}
	for _, tt := range tests {
		_, err := ParseEndpoint(tt.in)
		if err == nil {
			t.Errorf("ParseEndpoint(%q) succeeded, want an error about %q", tt.in, tt.reason)
			continue
		}
		if !strings.Contains(err.Error(), tt.reason) || !strings.Contains(err.Error(), "mqtt://host:port") {
			t.Errorf("ParseEndpoint(%q) = %q, want it to mention %q and the accepted forms", tt.in, err, tt.reason)
		}
	}
}

func TestEndpointALPNOnlyOnTLS443(t *testing.T) {
	for _, tt := range []struct {
		ep   Endpoint
		want bool
	}{
		{Endpoint{Host: "h", Port: 443, TLS: true}, true},
		{Endpoint{Host: "h", Port: 8883, TLS: true}, false},
		{Endpoint{Host: "h", Port: 443, TLS: false}, false},
	} {
		got := tt.ep.ALPN()
		if (len(got) == 1 && got[0] == "x-amzn-mqtt-ca") != tt.want || (!tt.want && got != nil) {
			t.Errorf("%+v.ALPN() = %q", tt.ep, got)
		}
	}
}

func TestEndpointIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "localhost": true, "LOCALHOST.": true, "x.localhost": true,
		"10.0.0.1": false, "a1b2-ats.iot.eu-west-1.amazonaws.com": false, "localhost.example.com": false,
	} {
		if got := (Endpoint{Host: host}).IsLoopback(); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestEndpointIsAWSIoT(t *testing.T) {
	for host, want := range map[string]bool{
		"a1b2-ats.iot.eu-west-1.amazonaws.com": true, "A1B2-ATS.IOT.US-EAST-1.AMAZONAWS.COM.": true,
		"a1b2-ats.iot.cn-north-1.amazonaws.com.cn": true,
		"127.0.0.1": false, "amazonaws.com.example.com": false, "iot.example.com": false, "amazonaws.com": false,
	} {
		if got := (Endpoint{Host: host}).IsAWSIoT(); got != want {
			t.Errorf("IsAWSIoT(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestMatchTopic(t *testing.T) {
	for _, tt := range []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"#", "a/b", true},
		{"#", "$aws/things/t/jobs/get", false},
		{"+/things/t", "$aws/things/t", false},
		{"$aws/things/+/jobs/#", "$aws/things/t/jobs/j/get/accepted", true},
		{"$aws/things/t/jobs/get/accepted", "$aws/things/t/jobs/get/rejected", false},
		{"a/b", "a", false},
	} {
		if got := MatchTopic(tt.filter, tt.topic); got != tt.want {
			t.Errorf("MatchTopic(%q, %q) = %v, want %v", tt.filter, tt.topic, got, tt.want)
		}
	}
}
