package controlplane

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/iotjobs/iotjobs/internal/emulator/engine"
	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// maxRequestBody bounds a request body: a document is at most 32768 bytes,
// and JSON string escaping can at worst multiply that by six.
const maxRequestBody = 6*jobs.MaxJobDocumentBytes + 64<<10

// controlPlane serves the jobs operations of the AWS IoT control plane over
// the engine: it reads the path, query and body into the operation's input,
// and sends the engine's output or error as they are.
type controlPlane struct {
	engine *engine.Engine
	faults Faults
}

// Faults is what the emulator's fault routes need (faults.Injector).
type Faults interface {
	Inject(iotapi.FaultInput) (iotapi.Fault, error)
	List() []iotapi.Fault
	Clear()
}

// New returns the HTTP handler of the control plane of e, served on the
// listener at listenAddr (host:port).
//
// It answers only requests whose Host is a name of that listener: a loopback
// address or localhost, the listen address itself, or any IP address when
// it listens on all of them, with its port. A web page cannot reach it
// through a DNS name that resolves to 127.0.0.1 (DNS rebinding).
func New(e *engine.Engine, listenAddr string, faults Faults) http.Handler {
	cp := &controlPlane{engine: e, faults: faults}
	routes := http.NewServeMux()
	routes.HandleFunc(iotapi.RouteCreateJob.Pattern(), cp.createJob)
	routes.HandleFunc(iotapi.RouteDescribeJob.Pattern(), cp.describeJob)
	routes.HandleFunc(iotapi.RouteGetJobDocument.Pattern(), cp.getJobDocument)
	routes.HandleFunc(iotapi.RouteListJobs.Pattern(), cp.listJobs)
	routes.HandleFunc(iotapi.RouteCancelJob.Pattern(), cp.cancelJob)
	routes.HandleFunc(iotapi.RouteDeleteJob.Pattern(), cp.deleteJob)
	routes.HandleFunc(iotapi.RouteListJobExecutionsForJob.Pattern(), cp.listJobExecutionsForJob)
	routes.HandleFunc(iotapi.RouteListJobExecutionsForThing.Pattern(), cp.listJobExecutionsForThing)
	routes.HandleFunc(iotapi.RouteDescribeJobExecution.Pattern(), cp.describeJobExecution)
	routes.HandleFunc(iotapi.RouteCancelJobExecution.Pattern(), cp.cancelJobExecution)
	routes.HandleFunc(iotapi.RouteDeleteJobExecution.Pattern(), cp.deleteJobExecution)
	routes.HandleFunc(iotapi.RouteCreateThing.Pattern(), cp.createThing)
	routes.HandleFunc(iotapi.RouteDescribeThing.Pattern(), cp.describeThing)
	routes.HandleFunc(iotapi.RouteListThings.Pattern(), cp.listThings)
	routes.HandleFunc(iotapi.RouteDeleteThing.Pattern(), cp.deleteThing)
	routes.HandleFunc(iotapi.RouteListThingGroups.Pattern(), cp.listThingGroups)
	routes.HandleFunc(iotapi.RouteCreateThingGroup.Pattern(), cp.createThingGroup)
	routes.HandleFunc(iotapi.RouteDescribeThingGroup.Pattern(), cp.describeThingGroup)
	routes.HandleFunc(iotapi.RouteDeleteThingGroup.Pattern(), cp.deleteThingGroup)
	routes.HandleFunc(iotapi.RouteAddThingToThingGroup.Pattern(), cp.addThingToThingGroup)
	routes.HandleFunc(iotapi.RouteRemoveThingFromThingGroup.Pattern(), cp.removeThingFromThingGroup)
	routes.HandleFunc(iotapi.RouteListThingsInThingGroup.Pattern(), cp.listThingsInThingGroup)
	routes.HandleFunc(iotapi.RouteUpdateEventConfigurations.Pattern(), cp.updateEventConfigurations)
	routes.HandleFunc(iotapi.RouteDescribeEventConfigs.Pattern(), cp.describeEventConfigurations)
	routes.HandleFunc(iotapi.RouteRolloutState.Pattern(), cp.rolloutState)
	if faults != nil {
		routes.HandleFunc(iotapi.RouteInjectFault.Pattern(), cp.injectFault)
		routes.HandleFunc(iotapi.RouteListFaults.Pattern(), cp.listFaults)
		routes.HandleFunc(iotapi.RouteClearFaults.Pattern(), cp.clearFaults)
	}
	_, port, _ := net.SplitHostPort(listenAddr)
	listenHost, _, _ := net.SplitHostPort(listenAddr)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostAllowed(r.Host, listenHost, port) {
			writeError(w, iotapi.Errorf(iotapi.Forbidden, "Host %q is not a name of this control plane; use http://%s", r.Host, listenAddr))
			return
		}
		// ServeMux would redirect a path with an empty or dot segment to its
		// clean form; no operation has one (an SDK refuses an empty id).
		if path.Clean(r.URL.Path) != r.URL.Path {
			writeError(w, iotapi.Errorf(iotapi.UnknownOperation, "No operation of the emulator's control plane is %s %s: the path has an empty or dot segment", r.Method, r.URL.Path))
			return
		}
		if _, pattern := routes.Handler(r); pattern != "" {
			routes.ServeHTTP(w, r)
			return
		}
		// ServeMux answers unknown routes in plain text, which an SDK cannot
		// turn into a typed error: answer them in the AWS error shape.
		if allow := allowedMethods(routes, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, iotapi.Errorf(iotapi.MethodNotAllowed, "%s %s is not an operation; this path takes %s", r.Method, r.URL.Path, strings.Join(allow, ", ")))
			return
		}
		writeError(w, iotapi.Errorf(iotapi.UnknownOperation, "No operation of the emulator's control plane is %s %s", r.Method, r.URL.Path))
	})
}

// hostAllowed reports whether the Host header names the listener.
func hostAllowed(host, listenHost, port string) bool {
	name, p, err := net.SplitHostPort(host)
	if err != nil || p != port {
		return false
	}
	if name == "localhost" || name == listenHost {
		return true
	}
	ip := net.ParseIP(name)
	listenIP := net.ParseIP(listenHost)
	return ip != nil && (ip.IsLoopback() || listenHost == "" || (listenIP != nil && listenIP.IsUnspecified()))
}

// allowedMethods are the methods of the routes that match r's path.
func allowedMethods(routes *http.ServeMux, r *http.Request) []string {
	var allow []string
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = method
		if _, pattern := routes.Handler(probe); pattern != "" {
			allow = append(allow, method)
		}
	}
	return allow
}

func invalidRequest(format string, args ...any) error {
	return iotapi.Errorf(iotapi.InvalidRequest, format, args...)
}

// writeError sends err in the restJson1 error shape: the exception name in
// X-Amzn-ErrorType, which the SDKs read first, and {"message":...}.
func writeError(w http.ResponseWriter, err error) {
	var se *iotapi.ServiceError
	if !errors.As(err, &se) {
		se = &iotapi.ServiceError{Kind: iotapi.InternalFailure, Message: err.Error()}
	}
	w.Header().Set("X-Amzn-ErrorType", se.Kind.Exception())
	writeJSON(w, se.Kind.HTTPStatus(), iotapi.ErrorBody{Message: se.Message})
}

// writeJSON sends v with status; a nil v sends the empty body of the
// operations that have no output.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("X-Amzn-RequestId", uuid.NewString())
	if v == nil {
		w.WriteHeader(status)
		return
	}
	body, err := jobs.Encode(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"message":"the response could not be encoded"}`)
		w.Header().Set("X-Amzn-ErrorType", iotapi.InternalFailure.Exception())
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// reply sends the output of an operation, or its error.
func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// decodeBody reads the JSON object of a request into v and returns its
// members as given, so that a handler can tell which were present. An empty
// body is an empty object; anything that is not one JSON object of the
// right types is InvalidRequest.
func decodeBody(r *http.Request, v any) (map[string]json.RawMessage, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxRequestBody))
	if err != nil {
		return nil, invalidRequest("The request body could not be read: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return nil, invalidRequest("The request body is not a JSON object: %v", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, invalidRequest("The request body is not valid: %v", err)
	}
	return members, nil
}

// unsupported refuses the members of a request the emulator has no
// behaviour for; present means given and not null.
func unsupported(present map[string]json.RawMessage, names ...string) error {
	for _, name := range names {
		if raw, ok := present[name]; ok && string(raw) != "null" {
			return invalidRequest("%s is not supported by the emulator", name)
		}
	}
	return nil
}

// unsupportedQuery is unsupported for query parameters.
func unsupportedQuery(r *http.Request, names ...string) error {
	for _, name := range names {
		if r.URL.Query().Has(name) {
			return invalidRequest("The query parameter %s is not supported by the emulator", name)
		}
	}
	return nil
}

func pathJobID(r *http.Request) (string, error) {
	id := r.PathValue("jobId")
	if err := jobs.ValidateJobID(id); err != nil {
		return "", invalidRequest("%v", err)
	}
	return id, nil
}

func pathThing(r *http.Request) (string, error) {
	thing := r.PathValue("thingName")
	if err := jobs.ValidateThingName(thing); err != nil {
		return "", invalidRequest("%v", err)
	}
	return thing, nil
}

// pathExecution reads the thing name and job id of the execution routes.
func pathExecution(r *http.Request) (thing, jobID string, err error) {
	if thing, err = pathThing(r); err != nil {
		return "", "", err
	}
	jobID, err = pathJobID(r)
	return thing, jobID, err
}

// queryBool reads a boolean query parameter; absent is false.
func queryBool(r *http.Request, name string) (bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, invalidRequest("%s must be true or false, got %q", name, s)
	}
	return b, nil
}

// parseInt64 reads an integer parameter for the error message's name.
func parseInt64(name, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, invalidRequest("%s must be an integer, got %q", name, s)
	}
	return n, nil
}

// queryInt64 reads an integer query parameter; absent is nil.
func queryInt64(r *http.Request, name string) (*int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil, nil
	}
	n, err := parseInt64(name, s)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// queryPage reads maxResults and nextToken.
func queryPage(r *http.Request) (maxResults int, nextToken string, err error) {
	q := r.URL.Query()
	if s := q.Get("maxResults"); s != "" {
		n, err := parseInt64("maxResults", s)
		if err != nil {
			return 0, "", err
		}
		if err := iotapi.CheckMaxResults(n); err != nil {
			return 0, "", err
		}
		maxResults = int(n)
	}
	return maxResults, q.Get("nextToken"), nil
}
