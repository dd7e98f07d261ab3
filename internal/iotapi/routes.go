package iotapi

import (
	"net/http"
	"net/url"
	"strings"
)

// Route is an operation's method and path. Path has {name} wildcards, as
// net/http's ServeMux patterns do, so the server registers Pattern and the
// client fills the wildcards with Path.
type Route struct {
	Method string
	path   string
}

// The routes of the operations, as the AWS IoT API model gives them.
var (
	RouteCreateJob                 = Route{http.MethodPut, "/jobs/{jobId}"}
	RouteDescribeJob               = Route{http.MethodGet, "/jobs/{jobId}"}
	RouteGetJobDocument            = Route{http.MethodGet, "/jobs/{jobId}/job-document"}
	RouteListJobs                  = Route{http.MethodGet, "/jobs"}
	RouteCancelJob                 = Route{http.MethodPut, "/jobs/{jobId}/cancel"}
	RouteDeleteJob                 = Route{http.MethodDelete, "/jobs/{jobId}"}
	RouteListJobExecutionsForJob   = Route{http.MethodGet, "/jobs/{jobId}/things"}
	RouteListJobExecutionsForThing = Route{http.MethodGet, "/things/{thingName}/jobs"}
	RouteDescribeJobExecution      = Route{http.MethodGet, "/things/{thingName}/jobs/{jobId}"}
	RouteCancelJobExecution        = Route{http.MethodPut, "/things/{thingName}/jobs/{jobId}/cancel"}
	RouteDeleteJobExecution        = Route{http.MethodDelete, "/things/{thingName}/jobs/{jobId}/executionNumber/{executionNumber}"}
)

// Pattern is the route as a ServeMux pattern: "GET /jobs/{jobId}".
func (r Route) Pattern() string { return r.Method + " " + r.path }

// Path fills the route's wildcards, in order, with values, each escaped
// as one path segment.
func (r Route) Path(values ...string) string {
	segments := strings.Split(r.path, "/")
	next := 0
	for i, seg := range segments {
		if strings.HasPrefix(seg, "{") && next < len(values) {
			segments[i] = url.PathEscape(values[next])
			next++
		}
	}
	return strings.Join(segments, "/")
}
