package devicecmd_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/mqttclient"
	"github.com/iotjobs/iotjobs/internal/mqttclient/mqtttest"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// TestBadInputSendsNothing runs every kind of invalid input against a broker
// watched by a spy on $aws/things/+/jobs/#: each must exit 2, name what was
// wrong, and publish nothing.
func TestBadInputSendsNothing(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	ep := "mqtt://" + b.Addr
	spy := spyOn(t, b)
	dir := t.TempDir()
	junk := dir + "/junk.pem"
	testutil.WriteFile(t, junk, "not a certificate")

	long := strings.Repeat("x", 1025)
	tests := []struct {
		name string
		env  []string
		args []string
		want string // in stderr
	}{
		{"no thing", nil, []string{"get-pending", "-e", ep}, "-t/--thing"},
		{"bad thing", nil, []string{"get-pending", "-t", "a/b", "-e", ep}, `invalid thing name "a/b"`},
		{"wildcard thing", nil, []string{"get-pending", "-t", "+", "-e", ep}, "invalid thing name"},
		{"long thing", nil, []string{"get-pending", "-t", strings.Repeat("t", 129), "-e", ep}, "the limit is 128"},
		{"bad thing from env", []string{"IOTJOBS_THING=a#b"}, []string{"get-pending", "-e", ep}, "invalid thing name"},
		{"bad endpoint", nil, []string{"get-pending", "-t", "t1", "-e", "ws://x"}, "invalid endpoint"},
		{"bad endpoint from env", []string{"IOTJOBS_ENDPOINT=mqtt://h:99999"}, []string{"get-pending", "-t", "t1"}, "invalid endpoint"},
		{"bad timeout", nil, []string{"get-pending", "-t", "t1", "-e", ep, "--timeout", "-1s"}, "--timeout"},
		{"zero timeout", nil, []string{"get-pending", "-t", "t1", "-e", ep, "--timeout", "0s"}, "--timeout"},
		{"bad timeout env", []string{"IOTJOBS_TIMEOUT=soon"}, []string{"get-pending", "-t", "t1", "-e", ep}, "IOTJOBS_TIMEOUT"},
		{"bad output", nil, []string{"get-pending", "-t", "t1", "-e", ep, "-o", "yaml"}, `invalid output format "yaml"`},
		{"reserved client id", nil, []string{"get-pending", "-t", "t1", "-e", ep, "--client-id", "$x"}, "client id"},
		{"empty client token", nil, []string{"get-pending", "-t", "t1", "-e", ep, "--client-token", ""}, "--client-token"},
		{"long client token", nil, []string{"get-pending", "-t", "t1", "-e", ep, "--client-token", strings.Repeat("é", 65)}, "invalid --client-token: it is 65 characters long, the limit is 64"},
		{"cert on plain endpoint", nil, []string{"get-pending", "-t", "t1", "-e", ep, "--ca", junk}, "need a TLS endpoint"},
		{"cert without key", nil, []string{"get-pending", "-t", "t1", "-e", "mqtts://127.0.0.1:1", "--cert", junk}, "--cert needs --key"},
		{"missing CA file", nil, []string{"get-pending", "-t", "t1", "-e", "mqtts://127.0.0.1:1", "--ca", dir + "/nope.pem"}, "CA file " + dir + "/nope.pem: cannot be read"},
		{"malformed CA", nil, []string{"get-pending", "-t", "t1", "-e", "mqtts://127.0.0.1:1", "--ca", junk}, "no PEM certificate found"},
		{"malformed cert", []string{"IOTJOBS_CERT=" + junk, "IOTJOBS_KEY=" + junk}, []string{"get-pending", "-t", "t1", "-e", "mqtts://127.0.0.1:1"}, "no PEM CERTIFICATE block"},
		{"unknown flag", nil, []string{"get-pending", "-t", "t1", "-e", ep, "--bogus"}, "iotjobs get-pending has no flag --bogus; its flags are listed by: iotjobs get-pending --help"},
		{"unknown shorthand", nil, []string{"get-pending", "-t", "t1", "-e", ep, "-Z"}, "iotjobs get-pending has no flag -Z; its flags are listed by: iotjobs get-pending --help"},
		{"flag without its value", nil, []string{"get-pending", "-e", ep, "-t"}, "--thing needs a value: a string (NAME); e.g. iotjobs get-pending -t my-thing"},
		{"duration without its value", nil, []string{"get-pending", "-t", "t1", "-e", ep, "--timeout"}, "--timeout needs a value: a duration such as 30s, 5m or 1h30m, e.g. --timeout 30s\n"},
		{"extra argument", nil, []string{"get-pending", "x", "-t", "t1", "-e", ep}, `get-pending takes no arguments, and "x" was given`},
		{"step timeout with a unit", nil, []string{"start-next", "--step-timeout", "5m", "-t", "t1", "-e", ep}, `invalid --step-timeout "5m": want a whole number (MINUTES), e.g. --step-timeout 10`},
		{"bool not a bool", nil, []string{"describe", "j", "--include-job-document=maybe", "-t", "t1", "-e", ep}, `invalid --include-job-document "maybe": want true or false`},
		{"two job ids", nil, []string{"describe", "a", "b", "-t", "t1", "-e", ep}, "describe takes one <job-id>, and 2 arguments were given (a b)"},
		{"bad job id", nil, []string{"describe", "job/1", "-t", "t1", "-e", ep}, `invalid job id "job/1"`},
		{"job id with colon", nil, []string{"describe", "a:b", "-t", "t1", "-e", ep}, "invalid job id"},
		{"long job id", nil, []string{"describe", strings.Repeat("j", 65), "-t", "t1", "-e", ep}, "the limit is 64"},
		{"no job id", nil, []string{"describe", "-t", "t1", "-e", ep}, "describe needs a job id"},
		{"job id and --next", nil, []string{"describe", "j", "--next", "-t", "t1", "-e", ep}, "not both"},
		{"bad execution number", nil, []string{"describe", "j", "--execution-number", "0", "-t", "t1", "-e", ep}, "--execution-number"},
		{"non-numeric execution number", nil, []string{"describe", "j", "--execution-number", "x", "-t", "t1", "-e", ep}, "--execution-number"},
		{"bad detail", nil, []string{"start-next", "--status-detail", "novalue", "-t", "t1", "-e", ep}, "must be KEY=VALUE"},
		{"bad detail key", nil, []string{"start-next", "--status-detail", "a b=1", "-t", "t1", "-e", ep}, "invalid status detail key"},
		{"empty detail value", nil, []string{"start-next", "--status-detail", "k=", "-t", "t1", "-e", ep}, "must not be empty"},
		{"long detail value", nil, []string{"start-next", "--status-detail", "k=" + long, "-t", "t1", "-e", ep}, "the limit is 1024"},
		{"control char in detail", nil, []string{"start-next", "--status-detail", "k=a\tb", "-t", "t1", "-e", ep}, "control"},
		{"duplicate detail", nil, []string{"start-next", "--status-detail", "k=1", "--status-detail", "k=2", "-t", "t1", "-e", ep}, "given twice"},
		{"step timeout 0", nil, []string{"start-next", "--step-timeout", "0", "-t", "t1", "-e", ep}, "invalid step timeout"},
		{"step timeout -1 on start-next", nil, []string{"start-next", "--step-timeout", "-1", "-t", "t1", "-e", ep}, "between 1 and 10080"},
		{"step timeout too long", nil, []string{"update", "j", "--status", "IN_PROGRESS", "--step-timeout", "10081", "-t", "t1", "-e", ep}, "or -1 to cancel"},
		{"no status", nil, []string{"update", "j", "-t", "t1", "-e", ep}, `required flag(s) "status"`},
		{"bad status", nil, []string{"update", "j", "--status", "DONE", "-t", "t1", "-e", ep}, "must be one of IN_PROGRESS, SUCCEEDED, FAILED, REJECTED"},
		{"service-only status", nil, []string{"update", "j", "--status", "CANCELED", "-t", "t1", "-e", ep}, "invalid status"},
		{"update $next", nil, []string{"update", "$next", "--status", "FAILED", "-t", "t1", "-e", ep}, "update needs the id of a job: $next names the next pending execution only for describe; find the id with: iotjobs describe '$next' -t t1 -e " + ep + "\n"},
		{"negative expected version", nil, []string{"update", "j", "--status", "FAILED", "--expected-version", "-3", "-t", "t1", "-e", ep}, "--expected-version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := iotjobs.Run(t, tt.env, tt.args...)
			testutil.WantExit(t, r, 2)
			if !strings.Contains(r.Stderr, tt.want) {
				t.Errorf("stderr does not contain %q:\n%s", tt.want, r.Stderr)
			}
			if r.Stdout != "" {
				t.Errorf("stdout %q", r.Stdout)
			}
		})
	}
	// The spy works: a valid command shows up, and it is the only thing it saw.
	iotjobs.Run(t, nil, "get-pending", "-t", "sentinel", "-e", ep, "--timeout", "300ms")
	got := spy.wait(t, 1)
	if len(got) != 1 || got[0] != "$aws/things/sentinel/jobs/get" {
		t.Fatalf("the spy saw %q, want only the sentinel's request", got)
	}
	if n := len(b.Published()); n != 1 {
		t.Fatalf("the broker saw %d publishes, want 1", n)
	}
}

func TestHelpNeverConnects(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	for _, cmd := range []string{"get-pending", "start-next", "describe", "update"} {
		r := iotjobs.Run(t, nil, cmd, "--help", "-t", "t1", "-e", "mqtt://"+b.Addr)
		testutil.WantExit(t, r, 0)
		for _, want := range []string{"$aws/things/THING/jobs/", "$ iotjobs " + cmd, "| jq", "--timeout"} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("%s --help does not contain %q", cmd, want)
			}
		}
	}
	if n := len(b.Published()); n != 0 {
		t.Errorf("--help published %d messages", n)
	}
}

type spy struct {
	mu     sync.Mutex
	topics []string
}

func spyOn(t *testing.T, b *mqtttest.Broker) *spy {
	t.Helper()
	ep, err := mqttclient.ParseEndpoint("mqtt://" + b.Addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := mqttclient.Dial(ctx, mqttclient.Config{Endpoint: ep, ClientID: "spy"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	s := &spy{}
	if err := c.Subscribe(ctx, []string{"$aws/things/+/jobs/#"}, func(topic string, _ []byte) {
		s.mu.Lock()
		s.topics = append(s.topics, topic)
		s.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

// wait returns what the spy saw once it has n messages, or after 2 s.
func (s *spy) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		s.mu.Lock()
		got := append([]string(nil), s.topics...)
		s.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}
