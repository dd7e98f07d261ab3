package jobs

import (
	"strings"
	"testing"
)

func TestValidateNames(t *testing.T) {
	tests := []struct {
		name  string
		check func(string) error
		in    string
		ok    bool
	}{
		{"thing", ValidateThingName, "my-thing_1:a", true},
		{"thing max", ValidateThingName, strings.Repeat("t", 128), true},
		{"thing too long", ValidateThingName, strings.Repeat("t", 129), false},
		{"thing empty", ValidateThingName, "", false},
		{"thing slash", ValidateThingName, "a/b", false},
		{"thing plus", ValidateThingName, "+", false},
		{"thing hash", ValidateThingName, "#", false},
		{"thing dollar", ValidateThingName, "$t", false},
		{"thing unicode", ValidateThingName, "thé", false},
		{"job", ValidateJobID, "job-1_a", true},
		{"job max", ValidateJobID, strings.Repeat("j", 64), true},
		{"job too long", ValidateJobID, strings.Repeat("j", 65), false},
		{"job colon", ValidateJobID, "a:b", false},
		{"job $next", ValidateJobID, "$next", false},
		{"job or next: $next", ValidateJobIDOrNext, "$next", true},
		{"job or next: $nextx", ValidateJobIDOrNext, "$nextx", false},
		{"key", ValidateStatusDetailKey, "a:b_c-1", true},
		{"key space", ValidateStatusDetailKey, "a b", false},
	}
	for _, tt := range tests {
		err := tt.check(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("%s: %q gives %v", tt.name, tt.in, err)
		}
		if err != nil {
			if _, isVE := err.(*ValidationError); !isVE {
				t.Errorf("%s: %T is not a ValidationError", tt.name, err)
			}
		}
	}
	if err := ValidateJobIDOrNext("a/b"); err == nil || !strings.Contains(err.Error(), "or be $next") {
		t.Errorf("ValidateJobIDOrNext does not mention $next: %v", err)
	}
}

func TestParseStatusDetail(t *testing.T) {
	tests := []struct {
		arg, key, value string
		errPart         string
	}{
		{"step=download", "step", "download", ""},
		{"note=a=b", "note", "a=b", ""},
		{"progress=50%, then more", "progress", "50%, then more", ""},
		{"k=" + strings.Repeat("é", 1024), "k", strings.Repeat("é", 1024), ""},
		{"k=" + strings.Repeat("v", 1025), "", "", "the limit is 1024"},
		{"novalue", "", "", "must be KEY=VALUE"},
		{"=v", "", "", "must not be empty"},
		{"k=", "", "", "must not be empty"},
		{"k=a\nb", "", "", "control"},
		{"k=a\u200bb", "", "", "control or format"},
		{"k=\xff", "", "", "UTF-8"},
		{"a b=v", "", "", "status detail key"},
	}
	for _, tt := range tests {
		k, v, err := ParseStatusDetail(tt.arg)
		if tt.errPart == "" {
			if err != nil || k != tt.key || v != tt.value {
				t.Errorf("ParseStatusDetail(%.40q) = %q, %.20q, %v", tt.arg, k, v, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.errPart) {
			t.Errorf("ParseStatusDetail(%.40q) error %v, want %q", tt.arg, err, tt.errPart)
		}
	}
}

func TestValidateStepTimeout(t *testing.T) {
	for _, tt := range []struct {
		minutes     int64
		allowCancel bool
		ok          bool
	}{
		{1, false, true}, {10080, false, true}, {0, false, false}, {10081, false, false},
		{-1, false, false}, {-1, true, true}, {-2, true, false}, {0, true, false},
	} {
		if err := ValidateStepTimeout(tt.minutes, tt.allowCancel); (err == nil) != tt.ok {
			t.Errorf("ValidateStepTimeout(%d, %v) = %v", tt.minutes, tt.allowCancel, err)
		}
	}
}

func TestValidateDeviceStatus(t *testing.T) {
	for _, s := range Statuses {
		err := ValidateDeviceStatus(s)
		if (err == nil) != s.DeviceSettable() {
			t.Errorf("ValidateDeviceStatus(%s) = %v", s, err)
		}
	}
	if ValidateDeviceStatus("done") == nil {
		t.Error("an unknown status passes")
	}
}

func TestCheckStatusDetailsCount(t *testing.T) {
	details := map[string]string{}
	for i := range 10 {
		details[string(rune('a'+i))] = "v"
	}
	if err := CheckStatusDetailsCount(details); err != nil {
		t.Errorf("10 pairs: %v", err)
	}
	details["k"] = "v"
	if err := CheckStatusDetailsCount(details); err == nil {
		t.Error("11 pairs pass")
	}
}

func TestDecodeUpdate(t *testing.T) {
	tests := []struct {
		payload string
		code    ErrorCode // "" for accepted
	}{
		{`{"status":"IN_PROGRESS","expectedVersion":3}`, ""},
		{`{"status":"IN_PROGRESS","expectedVersion":"3"}`, ""},
		{`{"status":"SUCCEEDED","stepTimeoutInMinutes":-1}`, ""},
		{`{"status":"QUEUED"}`, ""}, // known status: the transition check rejects it later
		{`{"status":"IN_PROGRESS","expectedVersion":"x"}`, CodeInvalidRequest},
		{`{}`, CodeInvalidRequest},
		{``, CodeInvalidRequest},
		{`{"status":"DONE"}`, CodeInvalidRequest},
		{`{"status":"FAILED","stepTimeoutInMinutes":0}`, CodeInvalidRequest},
		{`{"status":"FAILED","executionNumber":0}`, CodeInvalidRequest},
		{`{"status":"FAILED","statusDetails":{"a b":"c"}}`, CodeInvalidRequest},
		{`{"status":7}`, CodeInvalidRequest},
		{`[1]`, CodeInvalidJSON},
		{`{"status":`, CodeInvalidJSON},
		{"\xff", CodeInvalidJSON},
	}
	for _, tt := range tests {
		_, rej := DecodeUpdate([]byte(tt.payload))
		got := ErrorCode("")
		if rej != nil {
			got = rej.Code
		}
		if got != tt.code {
			t.Errorf("DecodeUpdate(%q) = %v, want code %q", tt.payload, rej, tt.code)
		}
	}
}
