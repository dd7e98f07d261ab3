// Package policy reads AWS IoT policy documents and evaluates MQTT actions
// against them as AWS IoT Core does: an explicit Deny wins, else an Allow
// grants, else the action is denied. The emulator's --policy and `iotjobs
// policy --check` share this one evaluator.
//
// What it understands: Effect Allow/Deny; Action and Resource as a string
// or a list, with * (any run of characters, / included) and ? (one
// character) in both; the actions iot:Connect, iot:Publish, iot:Subscribe,
// iot:Receive and iot:* (action names are matched without regard to case,
// resources with it); the policy variables ${iot:ClientId},
// ${iot:Connection.Thing.ThingName} and ${iot:Connection.Thing.IsAttached};
// and Condition blocks with the Bool, StringEquals, StringNotEquals,
// StringEqualsIgnoreCase, StringLike and StringNotLike operators on those
// keys. Anything else (NotAction, NotResource, other operators or keys) is
// refused when the document is read, never ignored.
package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The MQTT actions of AWS IoT Core.
const (
	Connect   = "iot:Connect"
	Publish   = "iot:Publish"
	Subscribe = "iot:Subscribe"
	Receive   = "iot:Receive"
)

// Actions are the actions a request can name, in the order AWS lists them.
var Actions = []string{Connect, Publish, Subscribe, Receive}

// The policy variables the evaluator resolves.
const (
	VarClientID   = "iot:ClientId"
	VarThingName  = "iot:Connection.Thing.ThingName"
	VarIsAttached = "iot:Connection.Thing.IsAttached"
)

// Effect is a statement's Allow or Deny.
type Effect string

const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Document is one policy document.
type Document struct {
	// Name says where it came from (a file name), for explanations.
	Name       string
	Version    string
	Statements []Statement
}

// Statement is one statement of a document.
type Statement struct {
	// Index is its position in the document, from 1.
	Index      int
	Sid        string
	Effect     Effect
	Actions    []string
	Resources  []string
	Conditions []Condition
	// doc names the document, for explanations.
	doc string
	// literal: the document is not Version 2012-10-17, and ${...} in it
	// is text, not a variable.
	literal bool
}

// Condition is one test of a Condition block: Operator(Key, Values), true
// when any of Values matches.
type Condition struct {
	Operator string
	Key      string
	Values   []string
}

// String names the statement: `policy.json statement 2 ("AllowJobs")`.
func (s *Statement) String() string {
	name := fmt.Sprintf("statement %d", s.Index)
	if s.Sid != "" {
		name += fmt.Sprintf(" (%q)", s.Sid)
	}
	if s.doc != "" {
		name = s.doc + " " + name
	}
	return name
}

// stringOrList is a JSON string or list of strings.
type stringOrList []string

func (l *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("want a string or a list of strings")
	}
	*l = many
	return nil
}

type rawDocument struct {
	Version   string          `json:"Version"`
	Statement json.RawMessage `json:"Statement"`
}

type rawStatement struct {
	Sid         string                             `json:"Sid"`
	Effect      string                             `json:"Effect"`
	Action      stringOrList                       `json:"Action"`
	Resource    stringOrList                       `json:"Resource"`
	Condition   map[string]map[string]stringOrList `json:"Condition"`
	NotAction   json.RawMessage                    `json:"NotAction"`
	NotResource json.RawMessage                    `json:"NotResource"`
	Principal   json.RawMessage                    `json:"Principal"`
}

// operators are the condition operators understood, by name.
var operators = map[string]func(value, want string) bool{
	"Bool":                   func(v, w string) bool { return strings.EqualFold(v, w) },
	"StringEquals":           func(v, w string) bool { return v == w },
	"StringNotEquals":        func(v, w string) bool { return v != w },
	"StringEqualsIgnoreCase": strings.EqualFold,
	"StringLike":             func(v, w string) bool { return Match(w, v) },
	"StringNotLike":          func(v, w string) bool { return !Match(w, v) },
}

// negated operators hold when no value matches, not when one does.
var negated = map[string]bool{"StringNotEquals": true, "StringNotLike": true}

// canonicalKey is the spelling of a known key or policy variable, whose
// names AWS compares without regard to case; "" for an unknown one.
func canonicalKey(name string) string {
	for _, k := range []string{VarClientID, VarThingName, VarIsAttached} {
		if strings.EqualFold(name, k) {
			return k
		}
	}
	return ""
}

// escapes are the policy variables that stand for a character a policy
// would otherwise read as a wildcard or a variable: ${*}, ${?} and ${$}.
// Substituted, they become the placeholder bytes that Match compares with
// the character itself.
var escapes = map[string]string{"*": "\x01", "?": "\x02", "$": "$"}

// Parse reads one policy document; name says where it came from. Errors
// name the statement and what is wrong with it, and JSON errors their
// position.
func Parse(name string, data []byte) (*Document, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var raw rawDocument
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%s: %s", name, jsonError(data, err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: more than one JSON value", name)
	}
	if raw.Version != "" && raw.Version != "2012-10-17" && raw.Version != "2008-10-17" {
		return nil, fmt.Errorf("%s: Version %q: AWS IoT takes 2012-10-17", name, raw.Version)
	}
	doc := &Document{Name: name, Version: raw.Version}
	// As in IAM, whose conventions AWS IoT policies follow, variables are
	// variables only under Version 2012-10-17; otherwise ${...} is text.
	literal := raw.Version != "2012-10-17"
	var statements []json.RawMessage
	if len(bytes.TrimSpace(raw.Statement)) > 0 && bytes.TrimSpace(raw.Statement)[0] == '{' {
		statements = []json.RawMessage{raw.Statement}
	} else if err := json.Unmarshal(raw.Statement, &statements); err != nil || len(statements) == 0 {
		return nil, fmt.Errorf("%s: Statement must be a statement or a non-empty list of them", name)
	}
	for i, rs := range statements {
		s, err := parseStatement(rs, literal)
		if err != nil {
			return nil, fmt.Errorf("%s: statement %d: %w", name, i+1, err)
		}
		s.Index, s.doc, s.literal = i+1, name, literal
		doc.Statements = append(doc.Statements, s)
	}
	return doc, nil
}

func parseStatement(data json.RawMessage, literal bool) (Statement, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var raw rawStatement
	if err := dec.Decode(&raw); err != nil {
		return Statement{}, errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	switch {
	case raw.NotAction != nil, raw.NotResource != nil:
		return Statement{}, errors.New("the NotAction and NotResource elements are not supported by this evaluator; list the actions and resources instead")
	case raw.Principal != nil:
		return Statement{}, errors.New("an AWS IoT policy has no Principal: it is attached to one")
	case raw.Effect != string(Allow) && raw.Effect != string(Deny):
		return Statement{}, fmt.Errorf("the Effect %q: want Allow or Deny", raw.Effect)
	case len(raw.Action) == 0:
		return Statement{}, errors.New("no Action")
	case len(raw.Resource) == 0:
		return Statement{}, errors.New("no Resource")
	}
	s := Statement{Sid: raw.Sid, Effect: Effect(raw.Effect), Actions: raw.Action, Resources: raw.Resource}
	for _, a := range s.Actions {
		// iotjobsdata: actions are the Jobs data plane's HTTPS API: AWS's
		// own Jobs policy names them, and they never match an MQTT action.
		if lower := strings.ToLower(a); !strings.HasPrefix(lower, "iot:") && !strings.HasPrefix(lower, "iotjobsdata:") {
			return Statement{}, fmt.Errorf("the Action %q: an AWS IoT policy names iot: (or iotjobsdata:) actions", a)
		}
	}
	for _, r := range s.Resources {
		if literal {
			break // ${...} is text there
		}
		if err := checkVariables(r); err != nil {
			return Statement{}, fmt.Errorf("the Resource %q: %w (under Version 2012-10-17, which a policy with variables needs)", r, err)
		}
	}
	for op, tests := range raw.Condition {
		if operators[op] == nil {
			return Statement{}, fmt.Errorf("Condition operator %q is not supported by this evaluator (it knows %s)", op, strings.Join(operatorNames(), ", "))
		}
		for key, values := range tests {
			canonical := canonicalKey(key)
			if canonical == "" {
				return Statement{}, fmt.Errorf("Condition key %q is not supported by this evaluator (it knows %s, %s and %s)", key, VarClientID, VarThingName, VarIsAttached)
			}
			s.Conditions = append(s.Conditions, Condition{Operator: op, Key: canonical, Values: values})
		}
	}
	return s, nil
}

func operatorNames() []string {
	return []string{"Bool", "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringLike", "StringNotLike"}
}

// checkVariables refuses a ${...} the evaluator does not know.
func checkVariables(s string) error {
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			return nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return errors.New("a ${ without its }")
		}
		if v := s[i+2 : i+j]; canonicalKey(v) == "" && escapes[v] == "" {
			return fmt.Errorf("the policy variable ${%s} is not supported by this evaluator (it knows ${%s}, ${%s} and ${%s})", v, VarClientID, VarThingName, VarIsAttached)
		}
		s = s[i+j+1:]
	}
}

// jsonError is a JSON error with its line and column.
func jsonError(data []byte, err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	offset := int64(-1)
	switch {
	case errors.As(err, &syntax):
		offset = syntax.Offset
	case errors.As(err, &typ):
		offset = typ.Offset
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if offset < 0 {
		return msg
	}
	line, col := 1, 1
	for _, c := range data[:min(int(offset), len(data))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("line %d, column %d: %s", line, col, msg)
}

// Connection is what the evaluator knows of the connection a request
// comes on, for the policy variables.
type Connection struct {
	ClientID string
	// Thing is the thing attached to the connection's certificate, ""
	// when none is; the thing variables resolve only when it is the
	// client id.
	Thing string
}

// variables resolves the policy variables of c; an unresolved one is
// absent.
func (c Connection) variables() map[string]string {
	vars := map[string]string{VarClientID: c.ClientID, VarIsAttached: "false"}
	if c.Thing != "" && c.Thing == c.ClientID {
		vars[VarThingName] = c.Thing
		vars[VarIsAttached] = "true"
	}
	return vars
}

// Request is one action on one resource (an ARN).
type Request struct {
	Action   string
	Resource string
}

// Decision is the outcome of an evaluation and what decided it.
type Decision struct {
	Allowed bool
	// By is the statement that decided: the Deny that matched, else the
	// first Allow that did; nil when none matched (denied by default).
	By *Statement
}

func (d Decision) String() string {
	switch {
	case d.By == nil:
		return "denied: no statement allows it"
	case d.Allowed:
		return "allowed by " + d.By.String()
	}
	return "denied by " + d.By.String()
}

// Set is the policies attached to a principal, evaluated together.
type Set []*Document

// Evaluate decides req on conn.
func (set Set) Evaluate(conn Connection, req Request) Decision {
	vars := conn.variables()
	var allow *Statement
	for _, doc := range set {
		for i := range doc.Statements {
			s := &doc.Statements[i]
			if !s.matches(vars, req) {
				continue
			}
			if s.Effect == Deny {
				return Decision{Allowed: false, By: s}
			}
			if allow == nil {
				allow = s
			}
		}
	}
	return Decision{Allowed: allow != nil, By: allow}
}

func (s *Statement) matches(vars map[string]string, req Request) bool {
	action := false
	for _, a := range s.Actions {
		if Match(strings.ToLower(a), strings.ToLower(req.Action)) {
			action = true
			break
		}
	}
	if !action {
		return false
	}
	resource := false
	for _, r := range s.Resources {
		pattern, ok := r, true
		if !s.literal {
			pattern, ok = substitute(r, vars)
		}
		if ok && Match(pattern, req.Resource) {
			resource = true
			break
		}
	}
	if !resource {
		return false
	}
	for _, c := range s.Conditions {
		if !c.holds(vars, s.literal) {
			return false
		}
	}
	return true
}

// holds tests the condition. A key without a value (a variable that
// cannot be resolved) fails a condition that wants a match and satisfies
// one that wants none (StringNotEquals, StringNotLike), as AWS documents.
func (c Condition) holds(vars map[string]string, literal bool) bool {
	value, ok := vars[c.Key]
	if !ok {
		return negated[c.Operator]
	}
	test := operators[c.Operator]
	resolve := func(w string) (string, bool) {
		if literal {
			return w, true
		}
		return substitute(w, vars)
	}
	if negated[c.Operator] {
		for _, w := range c.Values {
			if pattern, ok := resolve(w); ok && !test(value, pattern) {
				return false
			}
		}
		return true
	}
	for _, w := range c.Values {
		pattern, ok := resolve(w)
		if ok && test(value, pattern) {
			return true
		}
	}
	return false
}

// substitute replaces the policy variables of s; ok is false when one
// cannot be resolved, and then the resource matches nothing.
func substitute(s string, vars map[string]string) (string, bool) {
	if !strings.Contains(s, "${") {
		return s, true
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return "", false
		}
		name := s[i+2 : i+j]
		v, ok := escapes[name]
		if !ok {
			v, ok = vars[canonicalKey(name)]
		}
		if !ok {
			return "", false
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+j+1:]
	}
}

// Match reports whether s matches pattern, in which * stands for any run
// of characters and ? for one; every other character, MQTT's + and #
// included, stands for itself.
func Match(pattern, s string) bool {
	// Iterative glob with one backtrack point: linear in practice, and no
	// pattern makes it blow up.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i] || literalOf(pattern[p]) == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// Account is the region and account the set's resources name, for
// requests to be made in: ok is false when no resource names both without
// a wildcard. When several are named, the first is returned.
func (set Set) Account() (region, account string, ok bool) {
	for _, doc := range set {
		for _, s := range doc.Statements {
			for _, r := range s.Resources {
				parts := strings.SplitN(r, ":", 6)
				if len(parts) == 6 && parts[0] == "arn" && parts[3] != "" && parts[4] != "" &&
					!strings.ContainsAny(parts[3]+parts[4], "*?$") {
					return parts[3], parts[4], true
				}
			}
		}
	}
	return "", "", false
}

// literalOf is the character a placeholder byte of a substituted ${*} or
// ${?} stands for, 0 for any other byte.
func literalOf(b byte) byte {
	switch b {
	case 1:
		return '*'
	case 2:
		return '?'
	}
	return 0
}

// ARN is the resource ARN of kind ("client", "topic", "topicfilter") and
// name in region and account.
func ARN(region, account, kind, name string) string {
	return "arn:aws:iot:" + region + ":" + account + ":" + kind + "/" + name
}
