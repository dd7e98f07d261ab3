package mqttclient

import "testing"

// FuzzParseEndpoint checks that ParseEndpoint never panics and that what
// it accepts is a usable, canonical endpoint.
func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{"mqtt://127.0.0.1:1883", "mqtts://h", "h:443", "[::1]:1", "mqtt://[fe80::1%25eth0]:1", "ws://x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ep, err := ParseEndpoint(s)
		if err != nil {
			return
		}
		if ep.Host == "" || ep.Port < 1 || ep.Port > 65535 {
			t.Fatalf("ParseEndpoint(%q) = %+v", s, ep)
		}
		again, err := ParseEndpoint(ep.String())
		if err != nil || again != ep {
			t.Fatalf("ParseEndpoint(%q) = %+v, but its String %q parses to %+v, %v", s, ep, ep.String(), again, err)
		}
	})
}
