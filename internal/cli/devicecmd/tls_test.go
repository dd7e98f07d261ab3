package devicecmd_test

import (
	"strings"
	"testing"

	"github.com/iotjobs/iotjobs/internal/testutil"
)

func TestTLSAgainstEmulator(t *testing.T) {
	pki := testutil.NewPKI(t)
	other := testutil.NewPKI(t)
	serverOnly := testutil.StartEmulator(t, testutil.WithTLS(pki.ServerCertFile, pki.ServerKeyFile))
	mutual := testutil.StartEmulator(t, testutil.WithTLS(pki.ServerCertFile, pki.ServerKeyFile), testutil.WithClientCA(pki.CAFile))

	tests := []struct {
		name     string
		endpoint string
		args     []string
		exit     int
		stderr   string
	}{
		{"server auth with --ca", "mqtts://" + serverOnly.MQTTSAddr, []string{"--ca", pki.CAFile}, 0, ""},
		{"bare host:port means TLS", serverOnly.MQTTSAddr, []string{"--ca", pki.CAFile}, 0, ""},
		{"client certificate", "mqtts://" + mutual.MQTTSAddr, []string{"--ca", pki.CAFile, "--cert", pki.ClientCertFile, "--key", pki.ClientKeyFile}, 0, ""},
		{"client certificate required", "mqtts://" + mutual.MQTTSAddr, []string{"--ca", pki.CAFile}, 3, "the server rejected our client certificate"},
		{"client certificate from another CA", "mqtts://" + mutual.MQTTSAddr, []string{"--ca", pki.CAFile, "--cert", other.ClientCertFile, "--key", other.ClientKeyFile}, 3, "the server rejected our client certificate"},
		{"wrong CA", "mqtts://" + serverOnly.MQTTSAddr, []string{"--ca", other.CAFile}, 3, "signed by an unknown authority"},
		{"system roots", "mqtts://" + serverOnly.MQTTSAddr, nil, 3, "hint: give the CA that signed it with --ca"},
		{"key of another certificate", "mqtts://" + mutual.MQTTSAddr, []string{"--ca", pki.CAFile, "--cert", pki.ClientCertFile, "--key", other.ClientKeyFile}, 2, "private key does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := iotjobs.Run(t, nil, append([]string{"get-pending", "-t", "thing-1", "-e", tt.endpoint}, tt.args...)...)
			testutil.WantExit(t, r, tt.exit)
			if !strings.Contains(r.Stderr, tt.stderr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.stderr, r.Stderr)
			}
			if strings.Contains(r.Stderr, "PRIVATE KEY") || strings.Contains(r.Stderr, "BEGIN") {
				t.Errorf("stderr shows key or certificate material:\n%s", r.Stderr)
			}
		})
	}
}
