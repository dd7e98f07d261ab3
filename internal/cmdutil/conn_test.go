package cmdutil

import (
	"strings"
	"testing"

	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
)

func TestWarnImpersonationOnlyOffLoopbackWithTheThingsID(t *testing.T) {
	remote := mqttclient.Endpoint{Host: "a1b2-ats.iot.eu-west-1.amazonaws.com", Port: 8883, TLS: true}
	local := mqttclient.Endpoint{Host: "127.0.0.1", Port: 1883}
	for _, tt := range []struct {
		name     string
		clientID string
		ep       mqttclient.Endpoint
		warn     bool
	}{
		{"remote, thing's id", "thing-1", remote, true},
		{"remote, own id", "operator", remote, false},
		{"loopback, thing's id", "thing-1", local, false},
	} {
		ios, _, _, errOut := iostreams.Test()
		o := ConnOptions{IO: ios, Thing: "thing-1", ClientID: tt.clientID, endpoint: tt.ep}
		o.WarnImpersonation()
		got := errOut.String()
		if tt.warn != (got != "") {
			t.Errorf("%s: warning %q", tt.name, got)
		}
		if tt.warn && (!strings.Contains(got, "will be disconnected") || !strings.Contains(got, "--client-id")) {
			t.Errorf("%s: warning does not say what happens and what to do: %q", tt.name, got)
		}
	}
}
