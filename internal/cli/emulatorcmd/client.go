package emulatorcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
)

// client is the control-plane verbs' one client of a running emulator: a
// method per operation, taking and returning the shapes of internal/iotapi
// that the emulator's control plane serves. Its errors carry exit codes:
// ControlPlaneError (1), no emulator there (3), no answer in time (4).
type client struct {
	base    *url.URL
	timeout time.Duration
	// trace, when set (-v), is told each request and answer.
	trace func(format string, args ...any)
}

// answer is an operation's output, decoded, with the body as the emulator
// sent it, which the verbs print byte for byte in JSON mode.
type answer[T any] struct {
	body []byte
	out  T
}

// ControlPlaneError is an error answer of the control plane: the AWS
// exception name, which sets the exit code (cmdutil.ExitCode), and its
// message.
type ControlPlaneError struct {
	Type    string // e.g. ResourceNotFoundException; "HTTP 502 Bad Gateway" when the answer is not AWS-shaped
	Message string
}

// Exception is the AWS exception name.
func (e *ControlPlaneError) Exception() string { return e.Type }

func (e *ControlPlaneError) Error() string {
	if e.Message == "" {
		return e.Type
	}
	return e.Type + ": " + e.Message
}

// request is one call: the route with its wildcards' values, the query,
// and the body (nil for none).
type request struct {
	route  iotapi.Route
	params []string
	query  url.Values
	body   any
}

// call sends req and decodes the body of a 2xx answer into T; an empty body
// (the operations without output) is left undecoded.
func call[T any](ctx context.Context, c *client, req request) (answer[T], error) {
	u := c.base.JoinPath(req.route.Path(req.params...))
	u.RawQuery = req.query.Encode()
	var body io.Reader
	var sent []byte
	if req.body != nil {
		b, err := json.Marshal(req.body)
		if err != nil {
			return answer[T]{}, err
		}
		body, sent = bytes.NewReader(b), b
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, req.route.Method, u.String(), body)
	if err != nil {
		return answer[T]{}, err
	}
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	c.tracef("> %s %s %s", req.route.Method, u, sent)
	start := time.Now()
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return answer[T]{}, c.explain(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer[T]{}, c.explain(ctx, err)
	}
	c.tracef("< %s in %s %s", resp.Status, time.Since(start).Round(10*time.Microsecond), bytes.TrimSpace(data))
	if resp.StatusCode/100 != 2 {
		return answer[T]{}, answerError(resp, data)
	}
	a := answer[T]{body: data}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &a.out); err != nil {
			return answer[T]{}, fmt.Errorf("the emulator's answer is not what the control plane sends: %w", err)
		}
	}
	return a, nil
}

func (c *client) tracef(format string, args ...any) {
	if c.trace != nil {
		c.trace(format, args...)
	}
}

// explain turns a failed exchange into the error of its exit code: an
// interrupt, a timeout (exit 4), or no emulator there (exit 3).
func (c *client) explain(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case ctx.Err() != nil:
		return &mqttclient.TimeoutError{Op: "the control-plane request to " + c.base.Host, After: c.timeout,
			Hint: "is " + c.base.String() + " an iotjobs emulator's control plane?"}
	}
	var netErr *net.OpError
	if errors.As(err, &netErr) && netErr.Op == "dial" {
		err = netErr.Err
	}
	return &mqttclient.ConnectionError{Op: "connect to the emulator at " + c.base.String(), Err: err,
		Hint: "start one with `iotjobs emulator`, or point --emulator (env " + envEmulator + ") at its http address"}
}

// answerError reads an error answer in the AWS restJson1 shape: the
// exception in X-Amzn-ErrorType, the text in "message".
func answerError(resp *http.Response, data []byte) error {
	var shape iotapi.ErrorBody
	_ = json.Unmarshal(data, &shape)
	name := iotapi.ExceptionName(resp.Header.Get("X-Amzn-ErrorType"))
	if name == "" {
		name = "HTTP " + resp.Status
		if shape.Message == "" {
			shape.Message = string(bytes.TrimSpace(data))
		}
	}
	return &ControlPlaneError{Type: name, Message: shape.Message}
}

// forceQuery is the force parameter of the cancel and delete operations,
// sent only when set.
func forceQuery(force bool) url.Values {
	if !force {
		return nil
	}
	return url.Values{"force": {strconv.FormatBool(force)}}
}

// pageQuery is the filter and paging query of the list operations; zero
// values are left out.
func pageQuery(status string, maxResults int, nextToken string) url.Values {
	q := url.Values{}
	if status != "" {
		q.Set("status", status)
	}
	if maxResults != 0 {
		q.Set("maxResults", strconv.Itoa(maxResults))
	}
	if nextToken != "" {
		q.Set("nextToken", nextToken)
	}
	return q
}

func (c *client) createJob(ctx context.Context, in iotapi.CreateJobInput) (answer[iotapi.JobRef], error) {
	return call[iotapi.JobRef](ctx, c, request{route: iotapi.RouteCreateJob, params: []string{in.JobID}, body: in})
}

func (c *client) describeJob(ctx context.Context, jobID string) (answer[iotapi.DescribeJobOutput], error) {
	return call[iotapi.DescribeJobOutput](ctx, c, request{route: iotapi.RouteDescribeJob, params: []string{jobID}})
}

// rolloutState is the emulator's own view of a job's rollout, which AWS
// does not expose.
func (c *client) rolloutState(ctx context.Context, jobID string) (answer[iotapi.RolloutState], error) {
	return call[iotapi.RolloutState](ctx, c, request{route: iotapi.RouteRolloutState, params: []string{jobID}})
}

func (c *client) getJobDocument(ctx context.Context, jobID string) (answer[iotapi.GetJobDocumentOutput], error) {
	return call[iotapi.GetJobDocumentOutput](ctx, c, request{route: iotapi.RouteGetJobDocument, params: []string{jobID}})
}

func (c *client) listJobs(ctx context.Context, in iotapi.ListJobsInput) (answer[iotapi.ListJobsOutput], error) {
	q := pageQuery(string(in.Status), in.MaxResults, in.NextToken)
	if in.TargetSelection != "" {
		q.Set("targetSelection", in.TargetSelection)
	}
	return call[iotapi.ListJobsOutput](ctx, c, request{route: iotapi.RouteListJobs, query: q})
}

func (c *client) cancelJob(ctx context.Context, in iotapi.CancelJobInput) (answer[iotapi.JobRef], error) {
	return call[iotapi.JobRef](ctx, c, request{route: iotapi.RouteCancelJob, params: []string{in.JobID}, query: forceQuery(in.Force), body: in})
}

func (c *client) deleteJob(ctx context.Context, in iotapi.DeleteJobInput) error {
	_, err := call[struct{}](ctx, c, request{route: iotapi.RouteDeleteJob, params: []string{in.JobID}, query: forceQuery(in.Force)})
	return err
}

func (c *client) listJobExecutionsForJob(ctx context.Context, in iotapi.ListExecutionsInput) (answer[iotapi.ListJobExecutionsForJobOutput], error) {
	return call[iotapi.ListJobExecutionsForJobOutput](ctx, c, request{route: iotapi.RouteListJobExecutionsForJob,
		params: []string{in.JobID}, query: pageQuery(string(in.Status), in.MaxResults, in.NextToken)})
}

func (c *client) listJobExecutionsForThing(ctx context.Context, in iotapi.ListExecutionsInput) (answer[iotapi.ListJobExecutionsForThingOutput], error) {
	return call[iotapi.ListJobExecutionsForThingOutput](ctx, c, request{route: iotapi.RouteListJobExecutionsForThing,
		params: []string{in.ThingName}, query: pageQuery(string(in.Status), in.MaxResults, in.NextToken)})
}

func (c *client) describeJobExecution(ctx context.Context, in iotapi.DescribeJobExecutionInput) (answer[iotapi.DescribeJobExecutionOutput], error) {
	req := request{route: iotapi.RouteDescribeJobExecution, params: []string{in.ThingName, in.JobID}}
	if in.ExecutionNumber != nil {
		req.query = url.Values{"executionNumber": {strconv.FormatInt(*in.ExecutionNumber, 10)}}
	}
	return call[iotapi.DescribeJobExecutionOutput](ctx, c, req)
}

func (c *client) cancelJobExecution(ctx context.Context, in iotapi.CancelJobExecutionInput) error {
	_, err := call[struct{}](ctx, c, request{route: iotapi.RouteCancelJobExecution,
		params: []string{in.ThingName, in.JobID}, query: forceQuery(in.Force), body: in})
	return err
}

func (c *client) deleteJobExecution(ctx context.Context, in iotapi.DeleteJobExecutionInput) error {
	_, err := call[struct{}](ctx, c, request{route: iotapi.RouteDeleteJobExecution,
		params: []string{in.ThingName, in.JobID, strconv.FormatInt(in.ExecutionNumber, 10)}, query: forceQuery(in.Force)})
	return err
}

func (c *client) injectFault(ctx context.Context, in iotapi.FaultInput) (answer[iotapi.ListFaultsOutput], error) {
	return call[iotapi.ListFaultsOutput](ctx, c, request{route: iotapi.RouteInjectFault, body: in})
}

func (c *client) listFaults(ctx context.Context) (answer[iotapi.ListFaultsOutput], error) {
	return call[iotapi.ListFaultsOutput](ctx, c, request{route: iotapi.RouteListFaults})
}

func (c *client) clearFaults(ctx context.Context) error {
	_, err := call[struct{}](ctx, c, request{route: iotapi.RouteClearFaults})
	return err
}

func (c *client) createThing(ctx context.Context, thing string) error {
	_, err := call[iotapi.CreateThingOutput](ctx, c, request{route: iotapi.RouteCreateThing, params: []string{thing}, body: iotapi.CreateThingInput{ThingName: thing}})
	return err
}

func (c *client) createThingGroup(ctx context.Context, in iotapi.CreateThingGroupInput) (answer[iotapi.CreateThingGroupOutput], error) {
	return call[iotapi.CreateThingGroupOutput](ctx, c, request{route: iotapi.RouteCreateThingGroup, params: []string{in.ThingGroupName}, body: in})
}

func (c *client) describeThingGroup(ctx context.Context, group string) (answer[iotapi.ThingGroup], error) {
	return call[iotapi.ThingGroup](ctx, c, request{route: iotapi.RouteDescribeThingGroup, params: []string{group}})
}

func (c *client) deleteThingGroup(ctx context.Context, group string) error {
	_, err := call[struct{}](ctx, c, request{route: iotapi.RouteDeleteThingGroup, params: []string{group}})
	return err
}

func (c *client) addThingToThingGroup(ctx context.Context, group, thing string) error {
	_, err := call[struct{}](ctx, c, request{route: iotapi.RouteAddThingToThingGroup, body: iotapi.ThingGroupMembershipInput{ThingGroupName: group, ThingName: thing}})
	return err
}

func (c *client) removeThingFromThingGroup(ctx context.Context, group, thing string) error {
	_, err := call[struct{}](ctx, c, request{route: iotapi.RouteRemoveThingFromThingGroup, body: iotapi.ThingGroupMembershipInput{ThingGroupName: group, ThingName: thing}})
	return err
}

func (c *client) listThingGroups(ctx context.Context, in iotapi.ListThingGroupsInput) (answer[iotapi.ListThingGroupsOutput], error) {
	q := pageQuery("", in.MaxResults, in.NextToken)
	if in.NamePrefixFilter != "" {
		q.Set("namePrefixFilter", in.NamePrefixFilter)
	}
	return call[iotapi.ListThingGroupsOutput](ctx, c, request{route: iotapi.RouteListThingGroups, query: q})
}

func (c *client) listThingsInThingGroup(ctx context.Context, in iotapi.ListThingsInThingGroupInput) (answer[iotapi.ListThingsInThingGroupOutput], error) {
	return call[iotapi.ListThingsInThingGroupOutput](ctx, c, request{route: iotapi.RouteListThingsInThingGroup,
		params: []string{in.ThingGroupName}, query: pageQuery("", in.MaxResults, in.NextToken)})
}
