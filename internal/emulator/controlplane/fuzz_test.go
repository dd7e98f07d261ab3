package controlplane_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/iotjobs/iotjobs/internal/emulator/controlplane"
	"github.com/iotjobs/iotjobs/internal/emulator/engine"
	"github.com/iotjobs/iotjobs/internal/emulator/faults"
	"github.com/iotjobs/iotjobs/internal/emulator/store"
)

// FuzzRequest sends the control plane arbitrary methods, paths, queries and
// bodies: it never panics, answers an error only in the AWS shape with a
// 4xx status, and never fails internally.
func FuzzRequest(f *testing.F) {
	e, err := engine.Open(engine.Options{DataPath: store.MemoryPath})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	h := controlplane.New(e, "127.0.0.1:8084", faults.New(nil))
	f.Add(uint8(1), "/jobs/j1", "", `{"targets":["t1"],"document":"{}"}`)
	f.Add(uint8(1), "/jobs/j2", "", `{"targets":["arn:aws:iot:eu-west-1:1:thing/t2"],"document":"{\"a\":1}","timeoutConfig":{"inProgressTimeoutInMinutes":5}}`)
	f.Add(uint8(0), "/jobs", "status=IN_PROGRESS&maxResults=1", "")
	f.Add(uint8(0), "/things/t1/jobs/j1", "executionNumber=1", "")
	f.Add(uint8(1), "/things/t1/jobs/j1/cancel", "force=true", `{"expectedVersion":1,"statusDetails":{"k":"v"}}`)
	f.Add(uint8(2), "/things/t1/jobs/j1/executionNumber/1", "force=true", "")
	f.Add(uint8(1), "/jobs/j1/cancel", "", `{"comment":"x","reasonCode":"R"}`)
	f.Add(uint8(3), "/jobs/j1", "", "")
	f.Add(uint8(3), "/emulator/faults", "", `{"kind":"internal-errors","probability":0.5,"count":2}`)
	f.Add(uint8(2), "/emulator/faults", "", "")
	f.Add(uint8(3), "/things/t1", "", `{"thingTypeName":"sensor","attributePayload":{"attributes":{"a":"b"}}}`)
	f.Add(uint8(0), "/things", "maxResults=1&nextToken=t1", "")
	f.Add(uint8(3), "/thing-groups/g1", "", `{"thingGroupProperties":{"thingGroupDescription":"d","attributePayload":{"attributes":{"a":"b"}}}}`)
	f.Add(uint8(1), "/thing-groups/addThingToThingGroup", "", `{"thingGroupName":"g1","thingArn":"arn:aws:iot:eu-west-1:1:thing/t1","overrideDynamicGroups":false}`)
	f.Add(uint8(0), "/thing-groups/g1/things", "recursive=true&maxResults=1", "")
	f.Add(uint8(4), "/event-configurations", "", `{"eventConfigurations":{"JOB":{"Enabled":true},"JOB_EXECUTION":{"Enabled":false}}}`)
	f.Add(uint8(0), "/event-configurations", "", "")
	f.Add(uint8(1), "/jobs/j3", "", `{"targets":["arn:aws:iot:us-east-1:1:thinggroup/g1"],"document":"{}","targetSelection":"CONTINUOUS",`+
		`"jobExecutionsRolloutConfig":{"maximumPerMinute":5,"exponentialRate":{"baseRatePerMinute":2,"incrementFactor":1.5,"rateIncreaseCriteria":{"numberOfNotifiedThings":1}}},`+
		`"abortConfig":{"criteriaList":[{"failureType":"FAILED","action":"CANCEL","thresholdPercentage":12.5,"minNumberOfExecutedThings":1}]},`+
		`"jobExecutionsRetryConfig":{"criteriaList":[{"failureType":"ALL","numberOfRetries":2}]}}`)
	f.Add(uint8(0), "/emulator/jobs/j3/rollout", "", "")
	f.Add(uint8(1), "/thing-groups/removeThingFromThingGroup", "", `{"thingGroupArn":"arn:aws:iot:us-east-1:1:thinggroup/g1","thingName":"t1"}`)
	f.Add(uint8(2), "/thing-groups/g1", "expectedVersion=1", "")
	f.Add(uint8(2), "/things/t1", "expectedVersion=1", "")
	methods := []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPost, http.MethodPatch}
	f.Fuzz(func(t *testing.T, method uint8, path, query, body string) {
		target := "http://127.0.0.1:8084" + path + "?" + query
		if _, err := url.ParseRequestURI(target); err != nil || !strings.HasPrefix(path, "/") || strings.ContainsAny(path+query, " #") {
			return // not a request an HTTP client sends
		}
		req := httptest.NewRequest(methods[int(method)%len(methods)], target, strings.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusOK:
		case rec.Code < 400 || rec.Code >= 500:
			t.Fatalf("%s %s?%s %q: status %d: %s", req.Method, path, query, body, rec.Code, rec.Body)
		default:
			var shape struct {
				Message *string `json:"message"`
			}
			if json.Unmarshal(rec.Body.Bytes(), &shape) != nil || shape.Message == nil || rec.Header().Get("X-Amzn-ErrorType") == "" {
				t.Fatalf("%s %s: status %d without the AWS error shape: %s", req.Method, path, rec.Code, rec.Body)
			}
		}
	})
}
