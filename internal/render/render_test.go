package render

import (
	"strings"
	"testing"

	"github.com/iotjobs/iotjobs/internal/iostreams"
)

const payload = "{ \"code\" :\"X\", \"z\":1,\n \"a\": [1, {\"b\":\"\\u00e9<>&\"}], \"e\":{} }"

func TestJSONIsTheServicesJSONCompacted(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	if err := New(ios, JSON).Payload([]byte(payload)); err != nil {
		t.Fatal(err)
	}
	// Key order, escapes and number text stay as the service sent them.
	if want := `{"code":"X","z":1,"a":[1,{"b":"\u00e9<>&"}],"e":{}}` + "\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// Colour itself is decided by iostreams from the environment; the binary
// tests cover CLICOLOR_FORCE, NO_COLOR and --no-color end to end.
func TestPrettyIndentsInTheServicesOrder(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	ios.SetTTY(true, false)
	if err := New(ios, Pretty).Payload([]byte(payload)); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.Contains(got, "\x1b[") {
		t.Errorf("colour without the environment allowing it: %q", got)
	}
	if !strings.Contains(got, "\n  \"code\": \"X\",\n") || strings.Index(got, "code") > strings.Index(got, "\"z\"") || !strings.HasSuffix(got, "}\n") {
		t.Errorf("not indented in the service's order: %q", got)
	}
}

func TestNonJSONIsPrintedAsItCame(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	if err := New(ios, JSON).Payload([]byte("not json")); err != nil {
		t.Fatal(err)
	}
	if out.String() != "not json\n" {
		t.Errorf("got %q", out.String())
	}
}

func TestFormats(t *testing.T) {
	for _, s := range FormatNames() {
		if f, err := ParseFormat(s); err != nil || string(f) != s {
			t.Errorf("ParseFormat(%q) = %q, %v", s, f, err)
		}
	}
	// Any case, as every enum at the prompt.
	if f, err := ParseFormat("JSON"); err != nil || f != JSON {
		t.Errorf("ParseFormat(JSON) = %q, %v", f, err)
	}
	if _, err := ParseFormat("yaml"); err == nil || !strings.Contains(err.Error(), "pretty or json") {
		t.Errorf("ParseFormat(yaml) = %v", err)
	}
	ios, _, _, _ := iostreams.Test()
	if DefaultFormat(ios) != JSON {
		t.Error("default off a terminal is not json")
	}
	ios.SetTTY(true, false)
	if DefaultFormat(ios) != Pretty {
		t.Error("default on a terminal is not pretty")
	}
}

// TestPrettyNotesTheTimes: on a terminal each epoch-seconds field of a
// reply has its UTC time beside it; JSON output stays as the service sent it.
func TestPrettyNotesTheTimes(t *testing.T) {
	reply := `{"execution":{"jobId":"j","queuedAt":1796195775,"versionNumber":2,"statusDetails":{"timestamp":"7"}},"timestamp":1796196217}`
	ios, _, out, _ := iostreams.Test()
	if err := New(ios, Pretty).Payload([]byte(reply)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"queuedAt": 1796195775,  # 2026-12-02T07:16:15Z` + "\n",
		`"timestamp": 1796196217  # 2026-12-02T07:23:37Z` + "\n",
		`"versionNumber": 2,` + "\n",
		`"timestamp": "7"` + "\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	ios, _, out, _ = iostreams.Test()
	if err := New(ios, JSON).Payload([]byte(reply)); err != nil {
		t.Fatal(err)
	}
	if out.String() != reply+"\n" {
		t.Errorf("JSON changed: %s", out)
	}
}
