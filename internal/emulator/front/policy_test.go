package front_test

import (
	"crypto/tls"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// jobsPolicy is AWS's basic Jobs policy for a device (developer guide,
// "Basic job policy example"), with the thing policy variable in place of
// the thing's name, in another account than the emulator's own: the
// emulator evaluates in the account the policy names.
const jobsPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["iot:Connect"],
     "Resource": ["arn:aws:iot:us-west-2:111122223333:client/${iot:Connection.Thing.ThingName}"]},
    {"Effect": "Allow", "Action": ["iot:Publish"],
     "Resource": ["arn:aws:iot:us-west-2:111122223333:topic/$aws/things/${iot:Connection.Thing.ThingName}/jobs/*"]},
    {"Effect": "Allow", "Action": ["iot:Subscribe"],
     "Resource": ["arn:aws:iot:us-west-2:111122223333:topicfilter/$aws/things/${iot:Connection.Thing.ThingName}/jobs/*"]},
    {"Effect": "Allow", "Action": ["iot:Receive"],
     "Resource": ["arn:aws:iot:us-west-2:111122223333:topic/$aws/things/${iot:Connection.Thing.ThingName}/jobs/*"]}
  ]
}`

// logBuffer collects an emulator's log lines.
type logBuffer struct{ testutil.LockedBuffer }

// waitFor waits until the log holds s.
func (b *logBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(testutil.DeviceWait)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("the log has no %q:\n%s", s, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startWithPolicies starts an emulator enforcing the policy documents,
// with its log collected.
func startWithPolicies(t *testing.T, docs []string, opts ...testutil.Option) (*testutil.Emulator, *logBuffer) {
	t.Helper()
	var paths []string
	for i, doc := range docs {
		path := filepath.Join(t.TempDir(), "policy"+string(rune('a'+i))+".json")
		testutil.WriteFile(t, path, doc)
		paths = append(paths, path)
	}
	logs := &logBuffer{}
	opts = append(opts,
		testutil.WithConfig(func(c *emulator.Config) { c.Policies = paths }),
		testutil.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	return testutil.StartEmulator(t, opts...), logs
}

// closed waits for the broker to close dev's connection.
func closed(t *testing.T, dev *testutil.Device) {
	t.Helper()
	select {
	case <-dev.Lost:
	case <-time.After(testutil.DeviceWait):
		t.Fatal("the connection is still open")
	}
}

// publishDenied publishes what the broker will not take: the connection
// closes before the PUBACK, which is not waited for.
func publishDenied(dev *testutil.Device, topic, payload string) {
	dev.Client.Publish(topic, 1, false, payload).WaitTimeout(testutil.DeviceWait)
}

// TestPolicyJobWalk: under AWS's Jobs device policy a device walks a job
// (its requests, their replies, notify-next); a PUBLISH or a SUBSCRIBE on
// another thing's topics closes its connection, and each denial is logged
// with the client, action, resource and the reason.
func TestPolicyJobWalk(t *testing.T) {
	emu, logs := startWithPolicies(t, []string{jobsPolicy})
	logs.waitFor(t, "enforcing IoT policies")
	if !strings.Contains(logs.String(), "region=us-west-2 account=111122223333") {
		t.Errorf("the account evaluated in:\n%s", logs)
	}
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{"op":"x"}`)

	dev := testutil.ConnectDevice(t, emu.Endpoint, "thing-1")
	dev.Subscribe("$aws/things/thing-1/jobs/notify-next", "$aws/things/thing-1/jobs/start-next/accepted")
	dev.Publish("$aws/things/thing-1/jobs/start-next", `{"clientToken":"s"}`)
	if m := dev.NextOn("$aws/things/thing-1/jobs/start-next/accepted"); !strings.Contains(string(m.Payload), `"status":"IN_PROGRESS"`) {
		t.Fatalf("start-next: %s", m.Payload)
	}
	dev.Publish("$aws/things/thing-1/jobs/job-1/update", `{"status":"SUCCEEDED","clientToken":"u"}`)
	// The reply and the notify-next it causes come in either order.
	seen := map[string]bool{}
	for !seen["$aws/things/thing-1/jobs/job-1/update/accepted"] || !seen["$aws/things/thing-1/jobs/notify-next"] {
		seen[dev.Next().Topic] = true
	}

	publishDenied(dev, "$aws/things/thing-2/jobs/get", `{"clientToken":"g"}`)
	closed(t, dev)
	logs.waitFor(t, `msg="policy denied" component=policy client=thing-1 action=iot:Publish resource=arn:aws:iot:us-west-2:111122223333:topic/$aws/things/thing-2/jobs/get decision="denied: no statement allows it"`)

	sub := testutil.ConnectDevice(t, emu.Endpoint, "thing-1")
	token := sub.Client.Subscribe("$aws/things/thing-2/jobs/notify", 1, nil)
	token.WaitTimeout(testutil.DeviceWait)
	closed(t, sub)
	logs.waitFor(t, `client=thing-1 action=iot:Subscribe resource=arn:aws:iot:us-west-2:111122223333:topicfilter/$aws/things/thing-2/jobs/notify`)
}

// TestPolicyConnectAndReceive: a client id the policy does not name is
// refused at CONNECT; a message the client may not receive (an explicit
// Deny, which beats the Allow) is not delivered, reply or notification,
// and the connection stays.
func TestPolicyConnectAndReceive(t *testing.T) {
	emu, logs := startWithPolicies(t, []string{`{"Version": "2012-10-17", "Statement": [
		{"Effect": "Allow", "Action": "iot:*", "Resource": "*"},
		{"Effect": "Deny", "Action": "iot:Connect", "Resource": "arn:aws:iot:*:*:client/intruder"}]}`,
		`{"Version": "2012-10-17", "Statement": {"Sid": "NoNotifyNext", "Effect": "Deny", "Action": "iot:Receive",
		  "Resource": ["arn:aws:iot:*:*:topic/$aws/things/thing-1/jobs/notify-next", "arn:aws:iot:*:*:topic/$aws/things/thing-1/jobs/get/accepted"]}}`})
	if _, err := testutil.DialDevice(t, emu.Endpoint, "intruder"); err == nil {
		t.Fatal("intruder connected")
	}
	logs.waitFor(t, `client=intruder action=iot:Connect resource=arn:aws:iot:us-east-1:123456789012:client/intruder decision="denied by `)

	dev := testutil.ConnectDevice(t, emu.Endpoint, "thing-1")
	dev.Subscribe("$aws/things/thing-1/jobs/notify-next", "$aws/things/thing-1/jobs/notify")
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
	if m := dev.Next(); m.Topic != "$aws/things/thing-1/jobs/notify" {
		t.Fatalf("want notify only, got %s", m.Topic)
	}
	dev.Publish("$aws/things/thing-1/jobs/get", `{"clientToken":"g"}`) // its reply is denied too
	dev.Publish("$aws/things/thing-1/jobs/job-1/get", `{"clientToken":"d"}`)
	if m := dev.Next(); m.Topic != "$aws/things/thing-1/jobs/job-1/get/accepted" {
		t.Fatalf("want the describe reply, got %s %s", m.Topic, m.Payload)
	}
	dev.Quiet(200 * time.Millisecond)
	logs.waitFor(t, `action=iot:Receive resource=arn:aws:iot:us-east-1:123456789012:topic/$aws/things/thing-1/jobs/notify-next decision="denied by `)
	logs.waitFor(t, `statement 1 (\"NoNotifyNext\")`)
	select {
	case err := <-dev.Lost:
		t.Fatalf("a Receive denial closed the connection: %v", err)
	default:
	}
}

// TestPolicyThingFromClientCertificate: over mutual TLS the thing attached
// to the connection is its certificate's subject CN; the thing variables
// resolve only when the client id is that thing, and
// iot:Connection.Thing.IsAttached says whether it is.
func TestPolicyThingFromClientCertificate(t *testing.T) {
	pki := testutil.NewPKI(t)
	emu, logs := startWithPolicies(t, []string{`{"Version": "2012-10-17", "Statement": [
		{"Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"},
		{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*", "Condition": {"StringLike": {"iot:ClientId": "ops-*"}}},
		{"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": "arn:aws:iot:us-east-1:123456789012:topic/$aws/things/*",
		 "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}}]}`},
		testutil.WithTLS(pki.ServerCertFile, pki.ServerKeyFile), testutil.WithClientCA(pki.CAFile))
	cfg := &tls.Config{RootCAs: certPool(t, pki.CAFile), Certificates: clientCert(t, pki)}
	endpoint := "mqtts://" + emu.MQTTSAddr

	dev := testutil.ConnectDevice(t, endpoint, testutil.ClientCommonName, testutil.WithDeviceTLS(cfg))
	dev.Publish("$aws/things/"+testutil.ClientCommonName+"/jobs/get", `{"clientToken":"g"}`)
	if m := dev.Next(); m.Topic != "$aws/things/"+testutil.ClientCommonName+"/jobs/get/accepted" {
		t.Fatalf("reply on %s", m.Topic)
	}
	if _, err := testutil.DialDevice(t, endpoint, "thing-1", testutil.WithDeviceTLS(cfg)); err == nil {
		t.Fatal("a client id that is not the certificate's thing connected")
	}
	logs.waitFor(t, `client=thing-1 action=iot:Connect`)

	ops := testutil.ConnectDevice(t, endpoint, "ops-console", testutil.WithDeviceTLS(cfg))
	publishDenied(ops, "$aws/things/"+testutil.ClientCommonName+"/jobs/get", `{"clientToken":"o"}`)
	closed(t, ops) // not the attached thing: IsAttached is false
	logs.waitFor(t, `client=ops-console action=iot:Publish`)
}
