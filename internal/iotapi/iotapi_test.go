package iotapi

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/jobs"
)

func TestEpochSecondsRoundTrip(t *testing.T) {
	at := time.UnixMilli(1700000000123)
	data, err := json.Marshal(struct {
		At    EpochSeconds `json:"at,omitzero"`
		Unset EpochSeconds `json:"unset,omitzero"`
	}{At: Epoch(at)})
	if err != nil || string(data) != `{"at":1700000000.123}` {
		t.Fatalf("marshal: %s, %v", data, err)
	}
	var back struct{ At, Whole EpochSeconds }
	if err := json.Unmarshal([]byte(`{"At":1700000000.123,"Whole":1567701875}`), &back); err != nil {
		t.Fatal(err)
	}
	if !back.At.Equal(at) || back.Whole.Unix() != 1567701875 {
		t.Errorf("unmarshal: %v, %v", back.At.Time, back.Whole.Time)
	}
	if (EpochSeconds{}).String() != "" || back.At.String() != at.UTC().Format(time.RFC3339) {
		t.Errorf("String: %q, %q", EpochSeconds{}.String(), back.At.String())
	}
	if err := json.Unmarshal([]byte(`{"At":"soon"}`), &back); err == nil {
		t.Error("a string timestamp was accepted")
	}
}

func TestRoutes(t *testing.T) {
	if got := RouteDeleteJobExecution.Pattern(); got != "DELETE /things/{thingName}/jobs/{jobId}/executionNumber/{executionNumber}" {
		t.Errorf("pattern %q", got)
	}
	if got := RouteDescribeJobExecution.Path("thing:1", "job 1/../x"); got != "/things/thing:1/jobs/job%201%2F..%2Fx" {
		t.Errorf("path %q: each value must stay one segment", got)
	}
	if got := RouteListJobs.Path(); got != "/jobs" {
		t.Errorf("path %q", got)
	}
}

func TestParseTarget(t *testing.T) {
	for target, want := range map[string]Target{
		"dev-1":                                    {Thing: "dev-1"},
		"arn:aws:iot:eu-west-1:999:thing/dev-1":    {Thing: "dev-1"},
		"arn:aws-cn:iot:cn-north-1:9:thing/d_2":    {Thing: "d_2"},
		"arn:aws:iot:eu-west-1:999:thinggroup/g:1": {Group: "g:1"},
		"arn:aws:iot:eu-west-1:999:thinggroup/":    {},
		"arn:aws:iot:eu-west-1:999:thinggroup/a/b": {},
		"arn:aws:s3:::bucket":                      {},
		"a/b":                                      {},
		"arn:aws:iot:eu-west-1:999:thing/a+b":      {},
	} {
		got, err := ParseTarget(target)
		var se *ServiceError
		if got != want || (want == Target{}) != errors.As(err, &se) {
			t.Errorf("%s: %q, %v; want %q", target, got, err, want)
		}
		if se != nil && se.Kind != InvalidRequest {
			t.Errorf("%s: kind %s", target, se.Kind)
		}
	}
	if ThingOfARN(ThingARN("dev-1")) != "dev-1" || ThingOfARN("plain") != "plain" {
		t.Error("ThingOfARN does not undo ThingARN")
	}
}

func TestChecks(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		ok   bool
	}{
		{"document object", CheckDocument(` {"a":1} `), true},
		{"empty object", CheckDocument(`{}`), true},
		{"document array", CheckDocument(`[1]`), false},
		{"document null", CheckDocument(`null`), false},
		{"document trailing", CheckDocument(`{} x`), false},
		{"document cut short", CheckDocument("{\n  \"a\":"), false},
		{"document too big", CheckDocument(`{"a":"` + strings.Repeat("x", jobs.MaxJobDocumentBytes) + `"}`), false},
		{"max results 1", CheckMaxResults(1), true},
		{"max results 0", CheckMaxResults(0), false},
		{"max results 251", CheckMaxResults(251), false},
		{"timeout 10080", CheckInProgressTimeout(10080), true},
		{"timeout 0", CheckInProgressTimeout(0), false},
		{"reason code", CheckReasonCode("BAD_BUILD_2"), true},
		{"reason code lower", CheckReasonCode("bad"), false},
		{"text", CheckText("comment", "fine text", MaxCommentLen), true},
		{"text control", CheckText("comment", "a\tb", MaxCommentLen), false},
		{"text long", CheckText("comment", strings.Repeat("é", MaxCommentLen+1), MaxCommentLen), false},
	} {
		var se *ServiceError
		if (tt.err == nil) != tt.ok || (tt.err != nil && (!errors.As(tt.err, &se) || se.Kind != InvalidRequest)) {
			t.Errorf("%s: %v", tt.name, tt.err)
		}
	}
}

func TestDocumentErrorsSayWhere(t *testing.T) {
	err := CheckDocument("{\n  \"a\": 1,\n}\n")
	if err == nil || !strings.Contains(err.Error(), "document is not JSON: invalid character '}'") || !strings.Contains(err.Error(), "line 3, column 1") {
		t.Errorf("trailing comma: %v", err)
	}
	if err := CheckDocument(`[1]`); err == nil || !strings.Contains(err.Error(), "must be a JSON object") {
		t.Errorf("array: %v", err)
	}
}

func TestErrorKinds(t *testing.T) {
	if ResourceNotFound.Exception() != "ResourceNotFoundException" || ResourceNotFound.HTTPStatus() != 404 ||
		VersionConflict.HTTPStatus() != 409 || InvalidRequest.HTTPStatus() != 400 || InternalFailure.HTTPStatus() != 500 {
		t.Error("exception names or statuses are not the API model's")
	}
	if ExceptionName("ResourceNotFoundException:http://internal.amazon.com/") != "ResourceNotFoundException" {
		t.Error("the header's suffix is kept")
	}
}

// FuzzParseTarget: whatever a target holds, a name it accepts is a valid
// thing or group name, so it can never inject topic levels or wildcards.
func FuzzParseTarget(f *testing.F) {
	for _, seed := range []string{"dev-1", "arn:aws:iot:eu-west-1:1:thing/x", "arn:aws:iot:::thinggroup/g", "arn::::::", "a/#"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, target string) {
		got, err := ParseTarget(target)
		switch {
		case err != nil:
		case (got.Thing == "") == (got.Group == ""):
			t.Fatalf("%q gave %+v: a thing or a group, not both or neither", target, got)
		case got.Thing != "" && jobs.ValidateThingName(got.Thing) != nil:
			t.Fatalf("%q gave the invalid thing name %q", target, got.Thing)
		case got.Group != "" && ValidateThingGroupName(got.Group) != nil:
			t.Fatalf("%q gave the invalid group name %q", target, got.Group)
		}
	})
}
