package jobs

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParseTopic: ParseTopic never panics, and a topic it accepts renders
// back to the same name, with levels that cannot inject wildcards.
func FuzzParseTopic(f *testing.F) {
	f.Fuzz(func(t *testing.T, name string) {
		topic, err := ParseTopic(name)
		if err != nil {
			return
		}
		if got := topic.String(); got != name {
			t.Fatalf("ParseTopic(%q) = %+v, which renders as %q", name, topic, got)
		}
		if strings.ContainsAny(topic.Thing+topic.JobID, "+#/") {
			t.Fatalf("ParseTopic(%q) accepted a wildcard or a level separator: %+v", name, topic)
		}
	})
}

// FuzzDecodeUpdate: DecodeUpdate never panics, and every request it
// accepts satisfies the rules the engine relies on.
func FuzzDecodeUpdate(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		req, rej := DecodeUpdate(payload)
		if rej != nil {
			if rej.Code != CodeInvalidJSON && rej.Code != CodeInvalidRequest {
				t.Fatalf("DecodeUpdate(%q) rejected with %s", payload, rej.Code)
			}
			return
		}
		if !req.Status.Known() {
			t.Fatalf("accepted unknown status %q", req.Status)
		}
		if ValidateStatusDetails(req.StatusDetails) != nil || CheckStatusDetailsCount(req.StatusDetails) != nil {
			t.Fatalf("accepted bad status details %v", req.StatusDetails)
		}
		if req.StepTimeoutInMinutes != nil && ValidateStepTimeout(*req.StepTimeoutInMinutes, true) != nil {
			t.Fatalf("accepted step timeout %d", *req.StepTimeoutInMinutes)
		}
		if _, err := json.Marshal(req); err != nil {
			t.Fatalf("accepted request does not encode: %v", err)
		}
	})
}

// FuzzParseStatusDetail: the KEY=VALUE parser never panics, and what it
// accepts splits at the first '=' and passes both validations.
func FuzzParseStatusDetail(f *testing.F) {
	f.Fuzz(func(t *testing.T, arg string) {
		key, value, err := ParseStatusDetail(arg)
		if err != nil {
			return
		}
		if key+"="+value != arg || strings.Contains(key, "=") {
			t.Fatalf("ParseStatusDetail(%q) = %q, %q", arg, key, value)
		}
		if ValidateStatusDetailKey(key) != nil || ValidateStatusDetailValue(key, value) != nil {
			t.Fatalf("ParseStatusDetail(%q) accepted an invalid pair", arg)
		}
	})
}

// FuzzDecodeOtherRequests: the start-next, describe and get-pending
// decoders never panic, reject only with InvalidJson or InvalidRequest, and
// what they accept holds the limits the engine relies on.
func FuzzDecodeOtherRequests(f *testing.F) {
	f.Add([]byte(`{"statusDetails":{"k":"v"},"stepTimeoutInMinutes":5,"clientToken":"t"}`))
	f.Add([]byte(`{"executionNumber":2,"includeJobDocument":false}`))
	f.Add([]byte(`{"stepTimeoutInMinutes":-1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		wantCode := func(what string, rej *Rejection) {
			if rej != nil && rej.Code != CodeInvalidJSON && rej.Code != CodeInvalidRequest {
				t.Fatalf("%s(%q) rejected with %s", what, payload, rej.Code)
			}
		}
		start, rej := DecodeStartNext(payload)
		wantCode("DecodeStartNext", rej)
		if rej == nil {
			if ValidateStatusDetails(start.StatusDetails) != nil || CheckStatusDetailsCount(start.StatusDetails) != nil {
				t.Fatalf("start-next accepted bad status details %v", start.StatusDetails)
			}
			if start.StepTimeoutInMinutes != nil && ValidateStepTimeout(*start.StepTimeoutInMinutes, false) != nil {
				t.Fatalf("start-next accepted step timeout %d", *start.StepTimeoutInMinutes)
			}
		}
		describe, rej := DecodeDescribe(payload)
		wantCode("DecodeDescribe", rej)
		if rej == nil && describe.ExecutionNumber != nil && *describe.ExecutionNumber < 1 {
			t.Fatalf("describe accepted executionNumber %d", *describe.ExecutionNumber)
		}
		_, rej = DecodeGetPending(payload)
		wantCode("DecodeGetPending", rej)
	})
}
