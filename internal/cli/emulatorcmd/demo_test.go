package emulatorcmd_test

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
)

// TestDemoWalksTheJob runs the README's first command and checks that every
// step answered and the job ended SUCCEEDED. The default ports are held
// busy so the demo must fall back to free ones and print the -e and
// --emulator flags that make its lines runnable as shown.
func TestDemoWalksTheJob(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:1883", "127.0.0.1:8084"} {
		if l, err := net.Listen("tcp", addr); err == nil {
			t.Cleanup(func() { l.Close() })
		}
	}
	res := iotjobs.Run(t, nil, "demo")
	if res.ExitCode != 0 {
		t.Fatalf("demo failed: %s", res)
	}
	var commands, replies []string
	for _, line := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
		switch {
		case strings.HasPrefix(line, "$ iotjobs "):
			commands = append(commands, line)
		case line != "":
			if !json.Valid([]byte(line)) {
				t.Errorf("piped output is not one JSON document per line: %q", line)
			}
			replies = append(replies, line)
		}
	}
	if len(commands) != 8 || len(replies) != 8 {
		t.Fatalf("want 8 commands and 8 replies, got %d and %d:\n%s", len(commands), len(replies), res.Stdout)
	}
	if !strings.Contains(commands[1], " -e mqtt://127.0.0.1:") || !strings.Contains(commands[0], " --emulator http://127.0.0.1:") {
		t.Errorf("with the default ports busy the lines must name the demo's endpoints:\n%s\n%s", commands[0], commands[1])
	}
	if !strings.Contains(replies[2], `"status":"IN_PROGRESS"`) || !strings.Contains(replies[6], `"queuedJobs":[]`) ||
		!strings.Contains(replies[7], `"status":"SUCCEEDED"`) {
		t.Errorf("the job did not walk QUEUED -> IN_PROGRESS -> SUCCEEDED:\n%s", res.Stdout)
	}
}

// TestDemoPassesCommonFlags: -o, -v and --no-color reach every step, and
// the printed lines carry them so they stay runnable as shown; a bad -o is
// refused before the emulator starts.
func TestDemoPassesCommonFlags(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:1883", "127.0.0.1:8084"} {
		if l, err := net.Listen("tcp", addr); err == nil {
			t.Cleanup(func() { l.Close() })
		}
	}
	res := iotjobs.Run(t, []string{"CLICOLOR_FORCE=1"}, "demo", "-o", "pretty", "-v", "--no-color")
	if res.ExitCode != 0 {
		t.Fatalf("demo failed: %s", res)
	}
	steps := 0
	for _, line := range strings.Split(res.Stdout, "\n") {
		if strings.HasPrefix(line, "$ iotjobs ") {
			steps++
			if !strings.HasSuffix(line, " -o pretty -v --no-color") {
				t.Errorf("a step line without the common flags: %q", line)
			}
		}
	}
	if steps != 8 || !strings.Contains(res.Stdout, "\n  \"execution\": {") || strings.Contains(res.Stdout, "\x1b[") {
		t.Errorf("want 8 steps, indented replies and no colour:\n%s", res.Stdout)
	}
	if !strings.Contains(res.Stderr, "* connecting to mqtt://127.0.0.1:") || !strings.Contains(res.Stderr, "> PUT http://127.0.0.1:") {
		t.Errorf("-v did not trace the MQTT and HTTP steps:\n%s", res.Stderr)
	}
	res = iotjobs.Run(t, nil, "demo", "-o", "yaml")
	if res.ExitCode != 2 || res.Stdout != "" || !strings.Contains(res.Stderr, `invalid --output "yaml": use pretty or json`) {
		t.Errorf("demo -o yaml: %s", res)
	}
}
