package policy_test

// The expected answers in this file come from AWS's documentation, not
// from reading policy.go: every case names the page (and the statement on
// it) that gives its answer. The example policies are copied from those
// pages with the region and account replaced by us-east-1 and
// 123456789012, and uniqueThingName (or thing-name) by thing1.
//
// TestAWSFineprint holds the cases on which policy.go first disagreed with
// AWS (iotjobsdata: actions, negated conditions on an absent key,
// variables without Version 2012-10-17, ${*} ${?} ${$}, the case of key
// names); they pass since it was fixed.

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/iotjobs/iotjobs/internal/policy"
)

// The AWS pages the expectations come from.
const (
	docBase = "https://docs.aws.amazon.com/iot/latest/developerguide/"

	pageBasicJobs       = docBase + "basic-jobs-example.html"
	pageJobsDevices     = docBase + "jobs-devices.html"
	pageDataPlaneJobs   = docBase + "iot-data-plane-jobs.html"
	pageThingVars       = docBase + "thing-policy-variables.html"
	pageThingExamples   = docBase + "thing-policy-examples.html"
	pageBasicVars       = docBase + "basic-policy-variables.html"
	pagePolicyVars      = docBase + "iot-policy-variables.html"
	pageConnect         = docBase + "connect-policy.html"
	pageConnectPub      = docBase + "connect-and-pub.html"
	pagePubSub          = docBase + "pub-sub-policy.html"
	pagePolicies        = docBase + "iot-policies.html"
	pageActionResources = docBase + "iot-action-resources.html"
	pageTopics          = docBase + "topics.html"
	pageMisconfigured   = "https://docs.aws.amazon.com/iot-device-defender/latest/devguide/audit-chk-iot-misconfigured-policies.html"

	iamBase         = "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
	pageIAMAction   = iamBase + "reference_policies_elements_action.html"
	pageIAMEffect   = iamBase + "reference_policies_elements_effect.html"
	pageIAMStmt     = iamBase + "reference_policies_elements_statement.html"
	pageIAMCond     = iamBase + "reference_policies_elements_condition.html"
	pageIAMCondOps  = iamBase + "reference_policies_elements_condition_operators.html"
	pageIAMVars     = iamBase + "reference_policies_variables.html"
	pageIAMResource = iamBase + "reference_policies_elements_resource.html"
)

const (
	region  = "us-east-1"
	account = "123456789012"
)

// ---------------------------------------------------------------------------
// The example documents.

// basicJobsPolicy is AWS's "Basic job policy example" (pageBasicJobs) with
// uniqueThingName = thing1: its four MQTT statements. The page's fifth
// statement names iotjobsdata: actions for the HTTPS data plane; it
// is read too (see basicJobsPolicyFull in TestAWSFineprint).
const basicJobsPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "iot:Connect"
      ],
      "Resource": [
        "arn:aws:iot:us-east-1:123456789012:client/thing1"
      ]
    },
    {
      "Effect": "Allow",
      "Action": [
        "iot:Publish"
      ],
      "Resource": [
        "arn:aws:iot:us-east-1:123456789012:topic/test/dc/pubtopic",
        "arn:aws:iot:us-east-1:123456789012:topic/$aws/events/job/*",
        "arn:aws:iot:us-east-1:123456789012:topic/$aws/events/jobExecution/*",
        "arn:aws:iot:us-east-1:123456789012:topic/$aws/things/thing1/jobs/*"
      ]
    },
    {
      "Effect": "Allow",
      "Action": [
        "iot:Subscribe"
      ],
      "Resource": [
        "arn:aws:iot:us-east-1:123456789012:topicfilter/test/dc/subtopic",
        "arn:aws:iot:us-east-1:123456789012:topicfilter/$aws/events/jobExecution/*",
        "arn:aws:iot:us-east-1:123456789012:topicfilter/$aws/things/thing1/jobs/*"
      ]
    },
    {
      "Effect": "Allow",
      "Action": [
        "iot:Receive"
      ],
      "Resource": [
        "arn:aws:iot:us-east-1:123456789012:topic/test/dc/subtopic",
        "arn:aws:iot:us-east-1:123456789012:topic/$aws/things/thing1/jobs/*"
      ]
    }
  ]
}`

// basicJobsPolicyFull is the page's policy as published, all five
// statements (pageBasicJobs).
const basicJobsPolicyFull = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": ["arn:aws:iot:us-east-1:123456789012:client/thing1"]},
    {"Effect": "Allow", "Action": ["iot:Publish"], "Resource": [
      "arn:aws:iot:us-east-1:123456789012:topic/test/dc/pubtopic",
      "arn:aws:iot:us-east-1:123456789012:topic/$aws/events/job/*",
      "arn:aws:iot:us-east-1:123456789012:topic/$aws/events/jobExecution/*",
      "arn:aws:iot:us-east-1:123456789012:topic/$aws/things/thing1/jobs/*"]},
    {"Effect": "Allow", "Action": ["iot:Subscribe"], "Resource": [
      "arn:aws:iot:us-east-1:123456789012:topicfilter/test/dc/subtopic",
      "arn:aws:iot:us-east-1:123456789012:topicfilter/$aws/events/jobExecution/*",
      "arn:aws:iot:us-east-1:123456789012:topicfilter/$aws/things/thing1/jobs/*"]},
    {"Effect": "Allow", "Action": ["iot:Receive"], "Resource": [
      "arn:aws:iot:us-east-1:123456789012:topic/test/dc/subtopic",
      "arn:aws:iot:us-east-1:123456789012:topic/$aws/things/thing1/jobs/*"]},
    {"Effect": "Allow", "Action": [
      "iotjobsdata:DescribeJobExecution",
      "iotjobsdata:GetPendingJobExecutions",
      "iotjobsdata:StartNextPendingJobExecution",
      "iotjobsdata:UpdateJobExecution"],
     "Resource": ["arn:aws:iot:us-east-1:123456789012:topic/$aws/things/thing1"]}
  ]
}`

// dataPlaneJobsPolicy is the "Basic policy example" of pageDataPlaneJobs.
const dataPlaneJobsPolicy = `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Action": [
                "iotjobsdata:GetPendingJobExecutions",
                "iotjobsdata:StartNextPendingJobExecution",
                "iotjobsdata:DescribeJobExecution",
                "iotjobsdata:UpdateJobExecution"
            ],
            "Effect": "Allow",
            "Resource": "arn:aws:iot:us-east-1:123456789012:thing/thing1"
        }
    ]
}`

// thingJobsPolicy is basicJobsPolicy with thing1 replaced by the thing
// policy variable, as pageThingVars proposes ("apply the same policy to
// control many AWS IoT Core devices") and as pagePubSub's "registered
// devices" examples write it.
const thingJobsPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": ["arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"]},
    {"Effect": "Allow", "Action": ["iot:Publish"], "Resource": [
      "arn:aws:iot:us-east-1:123456789012:topic/test/dc/pubtopic",
      "arn:aws:iot:us-east-1:123456789012:topic/$aws/events/job/*",
      "arn:aws:iot:us-east-1:123456789012:topic/$aws/events/jobExecution/*",
      "arn:aws:iot:us-east-1:123456789012:topic/$aws/things/${iot:Connection.Thing.ThingName}/jobs/*"]},
    {"Effect": "Allow", "Action": ["iot:Subscribe"], "Resource": [
      "arn:aws:iot:us-east-1:123456789012:topicfilter/test/dc/subtopic",
      "arn:aws:iot:us-east-1:123456789012:topicfilter/$aws/events/jobExecution/*",
      "arn:aws:iot:us-east-1:123456789012:topicfilter/$aws/things/${iot:Connection.Thing.ThingName}/jobs/*"]},
    {"Effect": "Allow", "Action": ["iot:Receive"], "Resource": [
      "arn:aws:iot:us-east-1:123456789012:topic/test/dc/subtopic",
      "arn:aws:iot:us-east-1:123456789012:topic/$aws/things/${iot:Connection.Thing.ThingName}/jobs/*"]}
  ]
}`

// connectAndPubPolicy is the first policy of pageConnectPub.
const connectAndPubPolicy = `{
  "Version":"2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "iot:Publish"
      ],
      "Resource": [
        "arn:aws:iot:us-east-1:123456789012:topic/${iot:Connection.Thing.ThingName}"
      ]
    },
    {
      "Effect": "Allow",
      "Action": [
        "iot:Connect"
      ],
      "Resource": [
        "arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"
      ]
    }
  ]
}`

// clientIDPolicy is the first policy of pageBasicVars.
const clientIDPolicy = `{
    "Version": "2012-10-17",
    "Statement": [
      {
        "Effect": "Allow",
        "Action": ["iot:Connect"],
        "Resource": [
          "arn:aws:iot:us-east-1:123456789012:client/${iot:ClientId}"
        ]
      },
      {
        "Effect": "Allow",
        "Action": ["iot:Publish"],
        "Resource": [
          "arn:aws:iot:us-east-1:123456789012:topic/my/topic/${iot:ClientId}"
        ]
      }
    ]
}`

// clientIDFilterPolicy is pageBasicVars's topic filter statement, given as
// the single statement object of a document (pageIAMStmt: "The Statement
// element can contain a single statement or an array").
const clientIDFilterPolicy = `{
    "Version": "2012-10-17",
    "Statement": {
        "Effect": "Allow",
        "Action": ["iot:Subscribe"],
        "Resource": [
          "arn:aws:iot:us-east-1:123456789012:topicfilter/my/${iot:ClientId}/topic"
        ]
    }
}`

// clientid1Policy is pageBasicVars's last policy.
const clientid1Policy = `{
    "Version": "2012-10-17",
    "Statement": [
      {
        "Effect": "Allow",
        "Action": ["iot:Connect"],
        "Resource": [
          "arn:aws:iot:us-east-1:123456789012:client/clientid1"
        ]
      }
    ]
}`

// isAttachedPolicy is the first policy of pageThingExamples.
const isAttachedPolicy = `{
    "Version":"2012-10-17",
    "Statement":[
        {
            "Effect":"Allow",
            "Action":["iot:Connect"],
            "Resource":[ "*" ],
            "Condition": {
                "Bool": {
                    "iot:Connection.Thing.IsAttached": ["true"]
                }
            }
        }
    ]
}`

// connectPolicy is the first policy of pageConnect.
const connectPolicy = `{
	"Version":"2012-10-17",
	"Statement": [
		{
			"Effect": "Deny",
			"Action": [
				"iot:Connect"
			],
			"Resource": [
				"arn:aws:iot:us-east-1:123456789012:client/client1",
				"arn:aws:iot:us-east-1:123456789012:client/client2"
			]
		},
		{
			"Effect": "Allow",
			"Action": [
				"iot:Connect"
			],
			"Resource": [
				"arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"
			],
			"Condition": {
				"Bool": {
					"iot:Connection.Thing.IsAttached": "true"
				}
			}
		}
	]
}`

// exceptBarPolicy is pagePubSub's "Unregistered devices (9)": publish to
// any topic prefixed by the client ID except <client id>/bar.
const exceptBarPolicy = `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "iot:Connect"
            ],
            "Resource": [
                "arn:aws:iot:us-east-1:123456789012:client/client1",
                "arn:aws:iot:us-east-1:123456789012:client/client2"
            ]
        },
        {
            "Effect": "Allow",
            "Action": [
                "iot:Publish"
            ],
            "Resource": [
                "arn:aws:iot:us-east-1:123456789012:topic/${iot:ClientId}/*"
            ]
        },
        {
            "Effect": "Deny",
            "Action": [
                "iot:Publish"
            ],
            "Resource": [
                "arn:aws:iot:us-east-1:123456789012:topic/${iot:ClientId}/bar"
            ]
        }
    ]
}`

// exceptBarDenyFirst is exceptBarPolicy with its Deny statement first:
// the order of statements does not matter (pagePolicies: "An explicit deny
// in any policy overrides any allows").
const exceptBarDenyFirst = `{
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Deny", "Action": ["iot:Publish"], "Resource": ["arn:aws:iot:us-east-1:123456789012:topic/${iot:ClientId}/bar"]},
        {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": ["arn:aws:iot:us-east-1:123456789012:client/client1", "arn:aws:iot:us-east-1:123456789012:client/client2"]},
        {"Effect": "Allow", "Action": ["iot:Publish"], "Resource": ["arn:aws:iot:us-east-1:123456789012:topic/${iot:ClientId}/*"]}
    ]
}`

// exceptBarAllow and exceptBarDeny split exceptBarPolicy into two
// documents attached to the same principal, with Sids.
const exceptBarAllow = `{
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "PublishOwn", "Effect": "Allow", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/${iot:ClientId}/*"}
    ]
}`

const exceptBarDeny = `{
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "NoBar", "Effect": "Deny", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/${iot:ClientId}/bar"}
    ]
}`

// plusLiteralPolicy is pagePubSub's "Unregistered devices (4)", first
// policy: "+ is treated as a literal string ... only the string
// some/+/topic matches".
const plusLiteralPolicy = `{
    "Version": "2012-10-17",
    "Statement": [
      {
        "Effect": "Allow",
        "Action": [
          "iot:Connect"
        ],
        "Resource": [
          "arn:aws:iot:us-east-1:123456789012:client/client1"
        ]
      },
      {
        "Effect": "Allow",
        "Action": [
          "iot:Subscribe"
        ],
        "Resource": [
          "arn:aws:iot:us-east-1:123456789012:topicfilter/some/+/topic"
        ]
      }
    ]
}`

// starPolicy is pagePubSub's "Unregistered devices (4)", second policy:
// "* is treated as a wildcard character".
const starPolicy = `{
    "Version": "2012-10-17",
    "Statement": [
      {
        "Effect": "Allow",
        "Action": [
          "iot:Connect"
        ],
        "Resource": [
          "arn:aws:iot:us-east-1:123456789012:client/client1"
        ]
      },
      {
        "Effect": "Allow",
        "Action": [
          "iot:Subscribe"
        ],
        "Resource": [
          "arn:aws:iot:us-east-1:123456789012:topicfilter/some/*/topic"
        ]
      }
    ]
}`

// questionPolicy holds the ? examples of pagePubSub's wildcard table
// ("topic/some/?????/topic", "topicfilter/some/sensor???/topic").
const questionPolicy = `{
    "Version": "2012-10-17",
    "Statement": [
      {"Effect": "Allow", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/some/?????/topic"},
      {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/some/sensor???/topic"}
    ]
}`

// aRestrictedPolicy is pagePubSub's example of a policy that "will not
// work" to keep a device from a/restricted/...: "subscribing to the topic
// filter a/# permits clients to receive topics that include those
// starting with a/restricted/".
const aRestrictedPolicy = `{
    "Version": "2012-10-17",
    "Statement": [
        {
             "Effect": "Allow",
             "Action": "iot:Subscribe",
             "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/a/*"
        },
        {
             "Effect": "Deny",
             "Action": "iot:Subscribe",
             "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/a/restricted/*"
        }
    ]
}`

// buildingPolicy is pageMisconfigured's POLICY_CONTAINS_MQTT_WILDCARDS_IN_DENY_STATEMENT
// example: "MQTT wildcards don't have a wildcard meaning in AWS IoT
// policies and devices can subscribe to building/control_room/data1".
const buildingPolicy = `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "iot:Subscribe",
            "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/building/*"
        },
        {
            "Effect": "Deny",
            "Action": "iot:Subscribe",
            "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/building/control_room/#"
        },
        {
            "Effect": "Allow",
            "Action": "iot:Receive",
            "Resource": "arn:aws:iot:us-east-1:123456789012:topic/building/*"
        }
    ]
}`

// actionCasePolicy spells its actions in other cases (pageIAMAction: "The
// prefix and the action name are case insensitive").
const actionCasePolicy = `{
    "Version": "2012-10-17",
    "Statement": [
      {"Effect": "Allow", "Action": "IOT:publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/Sensor/Temp"},
      {"Effect": "Allow", "Action": "iot:SUBSCRIBE", "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/Sensor/Temp"}
    ]
}`

// iotStarPolicy uses the service-wide action wildcard (pageIAMAction:
// "s3:*" covers all the actions of the service) and a wildcard in an
// action name ("iot:Re*").
const iotStarPolicy = `{
    "Version": "2012-10-17",
    "Statement": [
      {"Effect": "Allow", "Action": "iot:*", "Resource": "arn:aws:iot:us-east-1:123456789012:*/all/*"},
      {"Effect": "Allow", "Action": "iot:Re*", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/re/*"}
    ]
}`

// examples are the documents above that Parse must read, by file name;
// they seed FuzzParse.
var examples = []struct{ name, json string }{
	{"basic-jobs.json", basicJobsPolicy},
	{"thing-jobs.json", thingJobsPolicy},
	{"connect-and-pub.json", connectAndPubPolicy},
	{"client-id.json", clientIDPolicy},
	{"client-id-filter.json", clientIDFilterPolicy},
	{"clientid1.json", clientid1Policy},
	{"is-attached.json", isAttachedPolicy},
	{"connect.json", connectPolicy},
	{"except-bar.json", exceptBarPolicy},
	{"except-bar-deny-first.json", exceptBarDenyFirst},
	{"except-bar-allow.json", exceptBarAllow},
	{"except-bar-deny.json", exceptBarDeny},
	{"plus-literal.json", plusLiteralPolicy},
	{"star.json", starPolicy},
	{"question.json", questionPolicy},
	{"a-restricted.json", aRestrictedPolicy},
	{"building.json", buildingPolicy},
	{"action-case.json", actionCasePolicy},
	{"iot-star.json", iotStarPolicy},
}

// ---------------------------------------------------------------------------
// Helpers.

func parse(t *testing.T, name, data string) *policy.Document {
	t.Helper()
	doc, err := policy.Parse(name, []byte(data))
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return doc
}

func arn(kind, name string) string { return policy.ARN(region, account, kind, name) }

// conn is a connection with client id id whose certificate is attached to
// thing ("" for none).
func conn(id, thing string) policy.Connection {
	return policy.Connection{ClientID: id, Thing: thing}
}

// A check is one request and the answer an AWS page gives for it.
type check struct {
	why    string // the AWS page and statement that give the answer
	conn   policy.Connection
	action string
	kind   string // client, topic or topicfilter
	name   string // client id, topic or topic filter
	allow  bool
	// denyBy is, for a denied request, the index of the Deny statement
	// that decides it; 0 when no statement matches (denied by default,
	// Decision.By nil).
	denyBy int
}

func (c check) String() string {
	return c.action + " " + c.kind + "/" + c.name + " as " + strconv.Quote(c.conn.ClientID) + " (thing " + strconv.Quote(c.conn.Thing) + ")"
}

// run evaluates every check against set.
func run(t *testing.T, set policy.Set, checks []check) {
	t.Helper()
	for _, c := range checks {
		d := set.Evaluate(c.conn, policy.Request{Action: c.action, Resource: arn(c.kind, c.name)})
		want := "denied by default"
		switch {
		case c.allow:
			want = "allowed"
		case c.denyBy > 0:
			want = "denied by Deny statement " + strconv.Itoa(c.denyBy)
		}
		bad := d.Allowed != c.allow
		switch {
		case c.allow:
			bad = bad || d.By == nil || d.By.Effect != policy.Allow
		case c.denyBy > 0:
			bad = bad || d.By == nil || d.By.Effect != policy.Deny || d.By.Index != c.denyBy
		default:
			bad = bad || d.By != nil
		}
		if bad {
			t.Errorf("%s: got %s (By %v), want %s\n\tAWS: %s", c, d, d.By, want, c.why)
		}
	}
}

// ---------------------------------------------------------------------------
// 1. The basic Jobs device policy.

func TestBasicJobsPolicy(t *testing.T) {
	set := policy.Set{parse(t, "basic-jobs.json", basicJobsPolicy)}
	dev := conn("thing1", "thing1")
	const stmt1 = pageBasicJobs + ` statement 1 (iot:Connect on client/uniqueThingName)`
	const stmt2 = pageBasicJobs + ` statement 2 (iot:Publish on topic/$aws/things/uniqueThingName/jobs/*, test/dc/pubtopic, $aws/events/...)`
	const stmt3 = pageBasicJobs + ` statement 3 (iot:Subscribe on topicfilter/$aws/things/uniqueThingName/jobs/*, test/dc/subtopic, $aws/events/jobExecution/*)`
	const stmt4 = pageBasicJobs + ` statement 4 (iot:Receive on topic/$aws/things/uniqueThingName/jobs/*, test/dc/subtopic)`
	const topics = "; the request and reply topics are those of " + pageJobsDevices
	const none = "; no statement names it, and " + pagePolicies + ": \"By default, all policies are implicitly denied\""
	run(t, set, []check{
		{why: stmt1, conn: dev, action: policy.Connect, kind: "client", name: "thing1", allow: true},
		{why: stmt1 + none, conn: conn("thing2", "thing2"), action: policy.Connect, kind: "client", name: "thing2"},
		{why: stmt1 + none, conn: conn("other", ""), action: policy.Connect, kind: "client", name: "other"},

		{why: stmt2 + topics, conn: dev, action: policy.Publish, kind: "topic", name: "$aws/things/thing1/jobs/get", allow: true},
		{why: stmt2 + topics, conn: dev, action: policy.Publish, kind: "topic", name: "$aws/things/thing1/jobs/start-next", allow: true},
		{why: stmt2 + topics, conn: dev, action: policy.Publish, kind: "topic", name: "$aws/things/thing1/jobs/job-1/get", allow: true},
		{why: stmt2 + topics, conn: dev, action: policy.Publish, kind: "topic", name: "$aws/things/thing1/jobs/job-1/update", allow: true},
		{why: stmt2, conn: dev, action: policy.Publish, kind: "topic", name: "test/dc/pubtopic", allow: true},
		{why: stmt2, conn: dev, action: policy.Publish, kind: "topic", name: "$aws/events/job/job-1/completed", allow: true},
		{why: stmt2 + none, conn: dev, action: policy.Publish, kind: "topic", name: "$aws/things/thing2/jobs/get"},
		{why: stmt2 + none, conn: dev, action: policy.Publish, kind: "topic", name: "$aws/things/thing2/jobs/job-1/update"},
		{why: stmt2 + none, conn: dev, action: policy.Publish, kind: "topic", name: "test/dc/subtopic"},
		// iot:Publish names a topic resource, not a topicfilter one
		// (pageActionResources).
		{why: stmt2 + "; " + pageActionResources + ": iot:Publish takes a topic resource" + none, conn: dev, action: policy.Publish, kind: "topicfilter", name: "$aws/things/thing1/jobs/get"},

		{why: stmt3 + topics, conn: dev, action: policy.Subscribe, kind: "topicfilter", name: "$aws/things/thing1/jobs/notify", allow: true},
		{why: stmt3 + topics, conn: dev, action: policy.Subscribe, kind: "topicfilter", name: "$aws/things/thing1/jobs/notify-next", allow: true},
		{why: stmt3 + topics, conn: dev, action: policy.Subscribe, kind: "topicfilter", name: "$aws/things/thing1/jobs/get/accepted", allow: true},
		{why: stmt3 + topics, conn: dev, action: policy.Subscribe, kind: "topicfilter", name: "$aws/things/thing1/jobs/job-1/update/rejected", allow: true},
		// * matches the MQTT wildcard + of a filter (pagePubSub: "In a
		// policy document, the * represents any combination of characters").
		{why: stmt3 + "; " + pagePubSub, conn: dev, action: policy.Subscribe, kind: "topicfilter", name: "$aws/things/thing1/jobs/+/update/accepted", allow: true},
		{why: stmt3, conn: dev, action: policy.Subscribe, kind: "topicfilter", name: "test/dc/subtopic", allow: true},
		{why: stmt3, conn: dev, action: policy.Subscribe, kind: "topicfilter", name: "$aws/events/jobExecution/job-1/succeeded", allow: true},
		{why: stmt3 + none, conn: dev, action: policy.Subscribe, kind: "topicfilter", name: "$aws/things/thing2/jobs/notify-next"},
		{why: stmt3 + none, conn: dev, action: policy.Subscribe, kind: "topicfilter", name: "$aws/things/thing2/jobs/get/accepted"},
		{why: stmt3 + none, conn: dev, action: policy.Subscribe, kind: "topicfilter", name: "$aws/events/job/job-1/completed"},
		{why: stmt3 + "; " + pageActionResources + ": iot:Subscribe takes a topicfilter resource" + none, conn: dev, action: policy.Subscribe, kind: "topic", name: "$aws/things/thing1/jobs/notify"},

		{why: stmt4 + topics, conn: dev, action: policy.Receive, kind: "topic", name: "$aws/things/thing1/jobs/notify", allow: true},
		{why: stmt4 + topics, conn: dev, action: policy.Receive, kind: "topic", name: "$aws/things/thing1/jobs/notify-next", allow: true},
		{why: stmt4 + topics, conn: dev, action: policy.Receive, kind: "topic", name: "$aws/things/thing1/jobs/get/accepted", allow: true},
		{why: stmt4 + topics, conn: dev, action: policy.Receive, kind: "topic", name: "$aws/things/thing1/jobs/job-1/update/rejected", allow: true},
		{why: stmt4, conn: dev, action: policy.Receive, kind: "topic", name: "test/dc/subtopic", allow: true},
		{why: stmt4 + none, conn: dev, action: policy.Receive, kind: "topic", name: "$aws/things/thing2/jobs/notify-next"},
		{why: stmt4 + none, conn: dev, action: policy.Receive, kind: "topic", name: "$aws/events/jobExecution/job-1/succeeded"},
		{why: stmt4 + none, conn: dev, action: policy.Receive, kind: "topic", name: "test/dc/pubtopic"},
	})
}

// ---------------------------------------------------------------------------
// 2. The same policy with ${iot:Connection.Thing.ThingName}.

func TestThingNameVariable(t *testing.T) {
	set := policy.Set{parse(t, "thing-jobs.json", thingJobsPolicy)}
	const resolves = pageThingVars + ": iot:Connection.Thing.ThingName \"resolves to the name of the thing ... for which the policy is being evaluated\"; the clientId \"must exactly match the thing name\""
	const unresolved = pageThingExamples + ": \"If the device certificate is not associated with the thing, this variable won't be resolved and will result in an access denied error\""
	const mismatch = pageThingVars + ": \"the value of clientId in the MQTT connect message ... must exactly match the thing name\""
	attached := conn("thing1", "thing1")
	none := conn("thing1", "")
	other := conn("thing1", "thing2") // the certificate is attached to thing2
	run(t, set, []check{
		{why: resolves, conn: attached, action: policy.Connect, kind: "client", name: "thing1", allow: true},
		{why: resolves, conn: attached, action: policy.Publish, kind: "topic", name: "$aws/things/thing1/jobs/get", allow: true},
		{why: resolves, conn: attached, action: policy.Publish, kind: "topic", name: "$aws/things/thing1/jobs/job-1/update", allow: true},
		{why: resolves, conn: attached, action: policy.Subscribe, kind: "topicfilter", name: "$aws/things/thing1/jobs/notify-next", allow: true},
		{why: resolves, conn: attached, action: policy.Receive, kind: "topic", name: "$aws/things/thing1/jobs/notify-next", allow: true},
		{why: resolves + "; another thing's topics match no statement", conn: attached, action: policy.Publish, kind: "topic", name: "$aws/things/thing2/jobs/get"},
		{why: resolves + "; another thing's topics match no statement", conn: attached, action: policy.Subscribe, kind: "topicfilter", name: "$aws/things/thing2/jobs/notify-next"},
		{why: resolves + "; another thing's topics match no statement", conn: attached, action: policy.Receive, kind: "topic", name: "$aws/things/thing2/jobs/notify-next"},

		{why: unresolved, conn: none, action: policy.Connect, kind: "client", name: "thing1"},
		{why: unresolved, conn: none, action: policy.Publish, kind: "topic", name: "$aws/things/thing1/jobs/get"},
		{why: unresolved, conn: none, action: policy.Subscribe, kind: "topicfilter", name: "$aws/things/thing1/jobs/notify-next"},
		{why: unresolved, conn: none, action: policy.Receive, kind: "topic", name: "$aws/things/thing1/jobs/notify-next"},
		// A statement without the variable still applies.
		{why: pageBasicJobs + " statement 2 (topic/test/dc/pubtopic has no variable)", conn: none, action: policy.Publish, kind: "topic", name: "test/dc/pubtopic", allow: true},

		{why: mismatch, conn: other, action: policy.Connect, kind: "client", name: "thing1"},
		{why: mismatch, conn: conn("thing2", "thing1"), action: policy.Connect, kind: "client", name: "thing2"},
		{why: mismatch, conn: other, action: policy.Publish, kind: "topic", name: "$aws/things/thing1/jobs/get"},
		{why: mismatch, conn: other, action: policy.Publish, kind: "topic", name: "$aws/things/thing2/jobs/get"},
		{why: mismatch, conn: other, action: policy.Subscribe, kind: "topicfilter", name: "$aws/things/thing2/jobs/notify-next"},
	})

	// pageConnectPub: "For a connection to be successful, the thing name
	// must be registered in the AWS IoT Core registry and be authenticated
	// using an identity or principal attached to the thing".
	const pub = pageConnectPub + " first policy (Connect and Publish on ${iot:Connection.Thing.ThingName})"
	run(t, policy.Set{parse(t, "connect-and-pub.json", connectAndPubPolicy)}, []check{
		{why: pub, conn: attached, action: policy.Connect, kind: "client", name: "thing1", allow: true},
		{why: pub, conn: attached, action: policy.Publish, kind: "topic", name: "thing1", allow: true},
		{why: pub + ": only the thing's own topic", conn: attached, action: policy.Publish, kind: "topic", name: "thing1/x"},
		{why: pub + "; " + unresolved, conn: none, action: policy.Connect, kind: "client", name: "thing1"},
		{why: pub + "; " + unresolved, conn: none, action: policy.Publish, kind: "topic", name: "thing1"},
		{why: pub + "; " + mismatch, conn: other, action: policy.Connect, kind: "client", name: "thing1"},
	})
}

// ---------------------------------------------------------------------------
// 3. ${iot:ClientId}, and Bool iot:Connection.Thing.IsAttached.

func TestClientIDVariable(t *testing.T) {
	const replaced = pageBasicVars + ": \"${iot:ClientId} is replaced by the ID of the client connected to the AWS IoT Core message broker\""
	run(t, policy.Set{parse(t, "client-id.json", clientIDPolicy)}, []check{
		// pagePolicyVars: "if a device is connected ... with a client ID of
		// 100-234-3456, the iot:ClientId policy variable is replaced in the
		// policy document by 100-234-3456". No thing is needed.
		{why: replaced + "; " + pagePolicyVars, conn: conn("100-234-3456", ""), action: policy.Connect, kind: "client", name: "100-234-3456", allow: true},
		{why: replaced, conn: conn("100-234-3456", ""), action: policy.Publish, kind: "topic", name: "my/topic/100-234-3456", allow: true},
		{why: replaced, conn: conn("100-234-3456", "100-234-3456"), action: policy.Publish, kind: "topic", name: "my/topic/100-234-3456", allow: true},
		{why: replaced + ": another client's topic", conn: conn("100-234-3456", ""), action: policy.Publish, kind: "topic", name: "my/topic/999"},
		{why: replaced + ": a client can connect only as itself", conn: conn("100-234-3456", ""), action: policy.Connect, kind: "client", name: "999"},
		{why: replaced, conn: conn("100-234-3456", ""), action: policy.Publish, kind: "topic", name: "my/topic/100-234-3456/more"},
	})

	// pageBasicVars: "A client can connect using + as the client ID. This
	// would allow the user to subscribe to any topic that matches the
	// topic filter my/+/topic".
	const plus = pageBasicVars + ": topicfilter/my/${iot:ClientId}/topic with client ID +"
	run(t, policy.Set{parse(t, "client-id-filter.json", clientIDFilterPolicy)}, []check{
		{why: plus, conn: conn("+", ""), action: policy.Subscribe, kind: "topicfilter", name: "my/+/topic", allow: true},
		{why: plus + " (client1 gets only its own level)", conn: conn("client1", ""), action: policy.Subscribe, kind: "topicfilter", name: "my/client1/topic", allow: true},
		{why: plus + " (client1 gets only its own level)", conn: conn("client1", ""), action: policy.Subscribe, kind: "topicfilter", name: "my/+/topic"},
	})
	// "this policy allows only those clients whose client ID is clientid1
	// to connect".
	const only = pageBasicVars + ": \"this policy allows only those clients whose client ID is clientid1 to connect\""
	run(t, policy.Set{parse(t, "clientid1.json", clientid1Policy)}, []check{
		{why: only, conn: conn("clientid1", ""), action: policy.Connect, kind: "client", name: "clientid1", allow: true},
		{why: only, conn: conn("+", ""), action: policy.Connect, kind: "client", name: "+"},
	})
}

func TestIsAttachedCondition(t *testing.T) {
	const attachedWhy = pageThingExamples + ` first policy: "allows a device to connect if the certificate used to authenticate with AWS IoT Core is attached to the thing for which the policy is being evaluated"`
	const thingIsClient = "; " + pageThingVars + ": IsAttached \"has values true or false ... Thing name is taken as client Id\""
	run(t, policy.Set{parse(t, "is-attached.json", isAttachedPolicy)}, []check{
		{why: attachedWhy, conn: conn("thing1", "thing1"), action: policy.Connect, kind: "client", name: "thing1", allow: true},
		{why: attachedWhy + thingIsClient, conn: conn("thing1", ""), action: policy.Connect, kind: "client", name: "thing1"},
		{why: attachedWhy + thingIsClient, conn: conn("thing1", "thing2"), action: policy.Connect, kind: "client", name: "thing1"},
		{why: attachedWhy + "; the statement names iot:Connect only", conn: conn("thing1", "thing1"), action: policy.Publish, kind: "topic", name: "x"},
	})

	// pageConnect first policy: "denies permission to client IDs client1
	// and client2 ... while allowing devices to connect using a client ID
	// [that] matches the name of a thing that's registered ... and
	// attached to the principal".
	const c = pageConnect + " first policy"
	run(t, policy.Set{parse(t, "connect.json", connectPolicy)}, []check{
		{why: c + ", statement 2", conn: conn("thing1", "thing1"), action: policy.Connect, kind: "client", name: "thing1", allow: true},
		{why: c + ", statement 1 denies client1 even when attached; " + pagePolicies + ": \"An explicit deny in any policy overrides any allows\"", conn: conn("client1", "client1"), action: policy.Connect, kind: "client", name: "client1", denyBy: 1},
		{why: c + ", statement 1", conn: conn("client2", ""), action: policy.Connect, kind: "client", name: "client2", denyBy: 1},
		{why: c + ", statement 2 needs the thing attached", conn: conn("thing1", ""), action: policy.Connect, kind: "client", name: "thing1"},
		{why: c + ", statement 2 needs the client ID to be the attached thing", conn: conn("thing1", "thing3"), action: policy.Connect, kind: "client", name: "thing1"},
	})
}

// ---------------------------------------------------------------------------
// 4. Deny beats Allow, default deny, Decision.String.

func TestDenyOverridesAllow(t *testing.T) {
	const except = pagePubSub + ` "Unregistered devices (9)": "publish to any topic prefixed by the client ID used to connect, except for one topic ending with bar"`
	const deny = "; " + pagePolicies + ": \"An explicit deny in any policy overrides any allows\""
	const def = "; " + pagePolicies + ": \"By default, all policies are implicitly denied\""
	c1 := conn("client1", "")
	checks := func(denyAt int) []check {
		return []check{
			{why: except, conn: c1, action: policy.Connect, kind: "client", name: "client1", allow: true},
			{why: except, conn: c1, action: policy.Publish, kind: "topic", name: "client1/foo", allow: true},
			{why: except, conn: c1, action: policy.Publish, kind: "topic", name: "client1/foo/bar", allow: true},
			{why: except + deny, conn: c1, action: policy.Publish, kind: "topic", name: "client1/bar", denyBy: denyAt},
			{why: except + deny, conn: conn("client2", ""), action: policy.Publish, kind: "topic", name: "client2/bar", denyBy: denyAt},
			{why: except + " (client1/bar is client2's to publish)", conn: conn("client2", ""), action: policy.Publish, kind: "topic", name: "client1/bar"},
			{why: except + def, conn: c1, action: policy.Publish, kind: "topic", name: "client2/foo"},
			{why: except + def, conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "client1/foo"},
			{why: except + def, conn: conn("client3", ""), action: policy.Connect, kind: "client", name: "client3"},
		}
	}
	t.Run("deny last", func(t *testing.T) {
		run(t, policy.Set{parse(t, "except-bar.json", exceptBarPolicy)}, checks(3))
	})
	t.Run("deny first", func(t *testing.T) {
		run(t, policy.Set{parse(t, "except-bar-deny-first.json", exceptBarDenyFirst)}, checks(1))
	})

	// The same statements in two documents attached together, in either
	// order.
	allowDoc := parse(t, "allow.json", exceptBarAllow)
	denyDoc := parse(t, "deny.json", exceptBarDeny)
	for _, set := range []policy.Set{{allowDoc, denyDoc}, {denyDoc, allowDoc}} {
		d := set.Evaluate(c1, policy.Request{Action: policy.Publish, Resource: arn("topic", "client1/bar")})
		if d.Allowed || d.By == nil || d.By.Effect != policy.Deny {
			t.Errorf("%s then %s: Publish client1/bar: got %s, want denied by deny.json's statement%s", set[0].Name, set[1].Name, d, deny)
			continue
		}
		// Decision.String names the deciding statement: its document, its
		// position and its Sid.
		for _, part := range []string{"denied", "deny.json", "statement 1", "NoBar"} {
			if !strings.Contains(d.String(), part) {
				t.Errorf("%s then %s: Decision.String() = %q, want it to name %q", set[0].Name, set[1].Name, d, part)
			}
		}
		d = set.Evaluate(c1, policy.Request{Action: policy.Publish, Resource: arn("topic", "client1/foo")})
		if !d.Allowed || d.By == nil || d.By.Sid != "PublishOwn" {
			t.Errorf("%s then %s: Publish client1/foo: got %s, want allowed by allow.json's PublishOwn", set[0].Name, set[1].Name, d)
		}
		for _, part := range []string{"allowed", "allow.json", "statement 1", "PublishOwn"} {
			if !strings.Contains(d.String(), part) {
				t.Errorf("%s then %s: Decision.String() = %q, want it to name %q", set[0].Name, set[1].Name, d, part)
			}
		}
		d = set.Evaluate(c1, policy.Request{Action: policy.Publish, Resource: arn("topic", "elsewhere")})
		if d.Allowed || d.By != nil {
			t.Errorf("%s then %s: Publish elsewhere: got %s (By %v), want denied with no statement%s", set[0].Name, set[1].Name, d, d.By, def)
		}
		if s := d.String(); !strings.HasPrefix(s, "denied") || strings.Contains(s, "statement 1") {
			t.Errorf("Decision.String() with no deciding statement = %q, want a denial that names no statement", s)
		}
	}

	// No policy at all: denied (pagePolicies, default deny).
	if d := (policy.Set{}).Evaluate(c1, policy.Request{Action: policy.Connect, Resource: arn("client", "client1")}); d.Allowed || d.By != nil {
		t.Errorf("empty set: got %s, want denied by default%s", d, def)
	}
}

// ---------------------------------------------------------------------------
// 5. Wildcards.

func TestWildcards(t *testing.T) {
	c1 := conn("client1", "")
	const plus = pagePubSub + ` "Unregistered devices (4)": "+ is treated as a literal string ... only the string some/+/topic matches the topic filter"`
	run(t, policy.Set{parse(t, "plus-literal.json", plusLiteralPolicy)}, []check{
		{why: plus, conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "some/+/topic", allow: true},
		{why: plus, conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "some/a/topic"},
		{why: plus, conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "some/#"},
		{why: plus, conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "some/+/+"},
	})

	const star = pagePubSub + ` "Unregistered devices (4)" second policy: "* is treated as a wildcard character ... (It is expected that these topics are, for example, some/string1/topic, some/string2/topic...)"`
	const notConfined = "; " + pagePubSub + ": \"the * character is not confined to a single topic level as the + character is in an MQTT topic filter\""
	run(t, policy.Set{parse(t, "star.json", starPolicy)}, []check{
		{why: star, conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "some/string1/topic", allow: true},
		{why: star + "; + is an ordinary character that * matches", conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "some/+/topic", allow: true},
		{why: star + notConfined, conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "some/a/b/topic", allow: true},
		{why: star, conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "some/topic"},
		{why: star, conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "other/a/topic"},
	})

	const question = pagePubSub + ": \"a question mark ? represents any single character\" (table: topic/some/?????/topic, topicfilter/some/sensor???/topic)"
	run(t, policy.Set{parse(t, "question.json", questionPolicy)}, []check{
		{why: question, conn: c1, action: policy.Publish, kind: "topic", name: "some/abcde/topic", allow: true},
		{why: question, conn: c1, action: policy.Publish, kind: "topic", name: "some/abcd/topic"},
		{why: question, conn: c1, action: policy.Publish, kind: "topic", name: "some/abcdef/topic"},
		{why: question, conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "some/sensor123/topic", allow: true},
		{why: question, conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "some/sensor+++/topic", allow: true},
		{why: question, conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "some/sensor12/topic"},
		{why: question, conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "some/sensor1234/topic"},
	})

	const aRestricted = pagePubSub + ": with Allow topicfilter/a/* and Deny topicfilter/a/restricted/*, \"subscribing to the topic filter a/# permits clients to receive topics that include those starting with a/restricted/\""
	run(t, policy.Set{parse(t, "a-restricted.json", aRestrictedPolicy)}, []check{
		{why: aRestricted, conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "a/#", allow: true},
		{why: aRestricted, conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "a/+", allow: true},
		{why: aRestricted, conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "a/b", allow: true},
		{why: aRestricted + " (the Deny statement matches)", conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "a/restricted/x", denyBy: 2},
		{why: aRestricted + " (the Deny statement matches)", conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "a/restricted/#", denyBy: 2},
	})

	const building = pageMisconfigured + ": \"MQTT wildcards don't have a wildcard meaning in AWS IoT policies and devices can subscribe to building/control_room/data1\""
	const building2 = pageMisconfigured + ": with a Deny of building/control_room/*, \"the device can send a subscribe request for building/# and receive messages from all topics related to building, including building/control_room/data1\""
	run(t, policy.Set{parse(t, "building.json", buildingPolicy)}, []check{
		{why: building, conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "building/control_room/data1", allow: true},
		{why: building + " (the Deny names the literal filter building/control_room/#)", conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "building/control_room/#", denyBy: 2},
		{why: building2, conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "building/#", allow: true},
		{why: building2, conn: c1, action: policy.Receive, kind: "topic", name: "building/control_room/data1", allow: true},
	})

	const actionCase = pageIAMAction + ": \"The prefix and the action name are case insensitive\""
	const topicCase = pageTopics + ": \"Topic names and topic filters are case sensitive\""
	run(t, policy.Set{parse(t, "action-case.json", actionCasePolicy)}, []check{
		{why: actionCase, conn: c1, action: policy.Publish, kind: "topic", name: "Sensor/Temp", allow: true},
		{why: actionCase, conn: c1, action: "iot:publish", kind: "topic", name: "Sensor/Temp", allow: true},
		{why: actionCase, conn: c1, action: "IoT:PUBLISH", kind: "topic", name: "Sensor/Temp", allow: true},
		{why: actionCase, conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "Sensor/Temp", allow: true},
		{why: actionCase + "; " + topicCase, conn: c1, action: policy.Publish, kind: "topic", name: "sensor/temp"},
		{why: actionCase + "; " + topicCase, conn: c1, action: policy.Subscribe, kind: "topicfilter", name: "SENSOR/TEMP"},
		{why: actionCase + " (but Receive is not named)", conn: c1, action: policy.Receive, kind: "topic", name: "Sensor/Temp"},
	})

	const iotStar = pageIAMAction + ": a service-wide wildcard such as \"s3:*\" applies to all the service's actions, and \"You can also use wildcards (* or ?) as part of the action name\""
	checks := []check{}
	for _, a := range policy.Actions {
		kind := "topic"
		switch a {
		case policy.Connect:
			kind = "client"
		case policy.Subscribe:
			kind = "topicfilter"
		}
		checks = append(checks,
			check{why: iotStar, conn: c1, action: a, kind: kind, name: "all/x", allow: true},
			check{why: iotStar + " (the resource does not match)", conn: c1, action: a, kind: kind, name: "none/x"},
		)
	}
	checks = append(checks,
		check{why: iotStar + " (iot:Re* names Receive)", conn: c1, action: policy.Receive, kind: "topic", name: "re/x", allow: true},
		check{why: iotStar + " (iot:Re* does not name Publish)", conn: c1, action: policy.Publish, kind: "topic", name: "re/x"},
	)
	run(t, policy.Set{parse(t, "iot-star.json", iotStarPolicy)}, checks)
}

// TestMatch checks the glob directly on the examples of pagePubSub's
// wildcard table and pageIAMResource ("* ... any combination of
// characters", "? ... any single character").
func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"topicfilter/some/*/topic", "topicfilter/some/string1/topic", true},
		{"topicfilter/some/*/topic", "topicfilter/some/a/b/topic", true}, // not confined to one level
		{"topicfilter/some/*/topic", "topicfilter/some//topic", true},    // any combination, the empty one included
		{"topicfilter/some/*/topic", "topicfilter/some/topic", false},
		{"topic/some/?????/topic", "topic/some/abcde/topic", true},
		{"topic/some/?????/topic", "topic/some/abcd/topic", false},
		{"topicfilter/some/sensor???/topic", "topicfilter/some/sensor123/topic", true},
		{"topicfilter/some/+/topic", "topicfilter/some/+/topic", true},
		{"topicfilter/some/+/topic", "topicfilter/some/a/topic", false},
		{"topicfilter/a/#", "topicfilter/a/#", true},
		{"topicfilter/a/#", "topicfilter/a/b", false},
		{"topicfilter/a/*", "topicfilter/a/#", true},
		{"topicfilter/a/*", "topicfilter/a/+", true},
		{"*", "arn:aws:iot:us-east-1:123456789012:client/c", true},
		{"*", "", true},
		{"topic/Sensor", "topic/sensor", false},
	} {
		if got := policy.Match(c.pattern, c.s); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v (%s)", c.pattern, c.s, got, c.want, pagePubSub)
		}
	}
}

func TestARN(t *testing.T) {
	// pageActionResources: arn:aws:iot:region:AWS-account-ID:Resource-type/Resource-name.
	for _, c := range []struct{ kind, name, want string }{
		{"client", "myClientId", "arn:aws:iot:us-east-1:123456789012:client/myClientId"},
		{"topic", "myTopicName", "arn:aws:iot:us-east-1:123456789012:topic/myTopicName"},
		{"topicfilter", "myTopicFilter", "arn:aws:iot:us-east-1:123456789012:topicfilter/myTopicFilter"},
		{"topicfilter", "$aws/things/thing1/jobs/+/get/#", "arn:aws:iot:us-east-1:123456789012:topicfilter/$aws/things/thing1/jobs/+/get/#"},
	} {
		if got := policy.ARN(region, account, c.kind, c.name); got != c.want {
			t.Errorf("ARN(%s, %s) = %q, want %q (%s)", c.kind, c.name, got, c.want, pageActionResources)
		}
	}
}

// ---------------------------------------------------------------------------
// 6. Parse.

func TestParseAccepts(t *testing.T) {
	for _, e := range examples {
		doc, err := policy.Parse(e.name, []byte(e.json))
		if err != nil {
			t.Errorf("Parse(%s): %v", e.name, err)
			continue
		}
		if doc.Name != e.name {
			t.Errorf("Parse(%s).Name = %q", e.name, doc.Name)
		}
		for i, s := range doc.Statements {
			if s.Index != i+1 {
				t.Errorf("Parse(%s): statement %d has Index %d", e.name, i+1, s.Index)
			}
		}
	}

	// A single statement object, not a list (pageIAMStmt).
	doc := parse(t, "client-id-filter.json", clientIDFilterPolicy)
	if len(doc.Statements) != 1 || doc.Statements[0].Effect != policy.Allow || len(doc.Statements[0].Resources) != 1 {
		t.Errorf("single statement object: got %+v, want one Allow statement with one resource", doc.Statements)
	}

	// Action and Resource as single strings (pageMisconfigured's policy
	// writes them so).
	doc = parse(t, "building.json", buildingPolicy)
	if len(doc.Statements) != 3 {
		t.Fatalf("building.json: %d statements, want 3", len(doc.Statements))
	}
	s := doc.Statements[1]
	if s.Effect != policy.Deny || len(s.Actions) != 1 || s.Actions[0] != "iot:Subscribe" ||
		len(s.Resources) != 1 || s.Resources[0] != "arn:aws:iot:us-east-1:123456789012:topicfilter/building/control_room/#" {
		t.Errorf("building.json statement 2: got %+v", s)
	}

	// The condition of pageThingExamples's first policy.
	doc = parse(t, "is-attached.json", isAttachedPolicy)
	want := policy.Condition{Operator: "Bool", Key: "iot:Connection.Thing.IsAttached", Values: []string{"true"}}
	if c := doc.Statements[0].Conditions; len(c) != 1 || c[0].Operator != want.Operator || c[0].Key != want.Key || len(c[0].Values) != 1 || c[0].Values[0] != "true" {
		t.Errorf("is-attached.json: conditions %+v, want [%+v]", c, want)
	}
}

func TestParseRefuses(t *testing.T) {
	const first = `{"Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:us-east-1:123456789012:client/client1"}`
	doc := func(second string) string {
		return `{"Version": "2012-10-17", "Statement": [` + first + `, ` + second + `]}`
	}
	for _, c := range []struct {
		why, second string
		want        []string // parts of the error, besides the file name and "statement 2"
	}{
		{"the evaluator does not implement NotAction (refused, not ignored)",
			`{"Effect": "Deny", "NotAction": "iot:Publish", "Resource": "*"}`, []string{"NotAction"}},
		// pagePubSub's own Receive statement with NotResource.
		{"the evaluator does not implement NotResource (refused, not ignored)",
			`{"Effect": "Allow", "Action": "iot:Receive", "NotResource": "arn:aws:iot:us-east-1:123456789012:topic/a/restricted/*"}`, []string{"NotResource"}},
		{pagePolicies + ": a statement has Effect, Action and Resource; the policy is attached to its principal",
			`{"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "iot:Connect", "Resource": "*"}`, []string{"Principal"}},
		{"an operator the evaluator does not implement",
			`{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*", "Condition": {"ArnLike": {"iot:ClientId": "x*"}}}`, []string{"ArnLike"}},
		{"a condition key the evaluator does not implement (" + pageThingExamples + " uses it)",
			`{"Effect": "Allow", "Action": "iot:Publish", "Resource": "*", "Condition": {"StringEquals": {"iot:Connection.Thing.ThingTypeName": "Thing_Type_Name"}}}`, []string{"iot:Connection.Thing.ThingTypeName"}},
		{"a policy variable the evaluator does not implement (" + pageThingVars + " defines it)",
			`{"Effect": "Allow", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/${iot:Connection.Thing.Attributes[wing]}/*"}`, []string{"iot:Connection.Thing.Attributes[wing]"}},
		{"an unknown policy variable",
			`{"Effect": "Allow", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/${iot:NoSuchThing}"}`, []string{"iot:NoSuchThing"}},
		{pageIAMEffect + ": \"Valid values for Effect are Allow and Deny. The Effect value is case sensitive\"",
			`{"Effect": "allow", "Action": "iot:Connect", "Resource": "*"}`, []string{"allow"}},
		{pageIAMEffect + ": \"Valid values for Effect are Allow and Deny\"",
			`{"Effect": "Audit", "Action": "iot:Connect", "Resource": "*"}`, []string{"Audit"}},
		{pageIAMEffect + ": \"The Effect element is required\"",
			`{"Action": "iot:Connect", "Resource": "*"}`, []string{"Effect"}},
	} {
		_, err := policy.Parse("refused.json", []byte(doc(c.second)))
		if err == nil {
			t.Errorf("Parse accepted statement 2 %s; want it refused: %s", c.second, c.why)
			continue
		}
		for _, part := range append([]string{"refused.json", "statement 2"}, c.want...) {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("Parse(statement 2 %s) = %q, want it to name %q (%s)", c.second, err, part, c.why)
			}
		}
	}
}

func TestParseJSONErrorPosition(t *testing.T) {
	for _, c := range []struct {
		data string
		line int
		bad  string // the offending text, on that line
	}{
		{"{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\",, \"Action\": \"iot:Connect\", \"Resource\": \"*\"}\n  ]\n}\n", 4, ",,"},
		{"{\n\t\"Version\": \"2012-10-17\"\n\t\"Statement\": []\n}", 3, "\t\""}, // a missing comma: the next key's quote
		{`{"Version": "2012-10-17", "Statement": [}`, 1, "}"},
	} {
		_, err := policy.Parse("broken.json", []byte(c.data))
		if err == nil {
			t.Errorf("Parse accepted invalid JSON %q", c.data)
			continue
		}
		m := regexp.MustCompile(`line (\d+), column (\d+)`).FindStringSubmatch(err.Error())
		if m == nil || !strings.Contains(err.Error(), "broken.json") {
			t.Errorf("Parse(%q) = %q, want the file name and a line and column", c.data, err)
			continue
		}
		line, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		text := strings.Split(c.data, "\n")[c.line-1]
		// The error is in the offending text: its last character or the
		// one just after it, counted from 1, as editors count.
		at := strings.LastIndex(text, c.bad) + len(c.bad) // 1-based column of its last character
		if line != c.line || col < at || col > at+1 {
			t.Errorf("Parse(%q) = %q, want line %d, column %d or %d", c.data, err, c.line, at, at+1)
		}
	}
	for _, data := range []string{"", "[]", `{"Version": "2012-10-17"}`, `{"Version": "2012-10-17", "Statement": []}`, `{"Statement": {"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}} {}`} {
		if _, err := policy.Parse("broken.json", []byte(data)); err == nil {
			t.Errorf("Parse(%q) accepted it", data)
		}
	}
}

// ---------------------------------------------------------------------------
// 7. Account.

func TestAccount(t *testing.T) {
	set := policy.Set{parse(t, "basic-jobs.json", basicJobsPolicy)}
	if r, a, ok := set.Account(); r != region || a != account || !ok {
		t.Errorf("basic jobs policy: Account() = %q, %q, %v, want %q, %q, true", r, a, ok, region, account)
	}
	// Resource "*" names no account (pageThingExamples's first policy).
	set = policy.Set{parse(t, "is-attached.json", isAttachedPolicy)}
	if r, a, ok := set.Account(); ok {
		t.Errorf("is-attached policy: Account() = %q, %q, true, want not ok", r, a)
	}
	set = policy.Set{parse(t, "is-attached.json", isAttachedPolicy), parse(t, "thing-jobs.json", thingJobsPolicy)}
	if r, a, ok := set.Account(); r != region || a != account || !ok {
		t.Errorf("is-attached then thing-jobs: Account() = %q, %q, %v, want %q, %q, true", r, a, ok, region, account)
	}
}

// ---------------------------------------------------------------------------
// The fine print on which policy.go first disagreed with AWS's
// documentation; each case failed before the fix.

func TestAWSFineprint(t *testing.T) {
	// D1. AWS's own basic job policy (pageBasicJobs, as published, with
	// its fifth statement naming iotjobsdata: actions) and the data-plane
	// policy of pageDataPlaneJobs ("the data plane policy actions must use
	// the iotjobsdata: prefix") are AWS IoT Core policies; Parse refuses
	// both ("an AWS IoT policy names iot: actions").
	t.Run("iotjobsdata actions", func(t *testing.T) {
		for _, e := range []struct{ name, json, page string }{
			{"basic-jobs-full.json", basicJobsPolicyFull, pageBasicJobs},
			{"data-plane-jobs.json", dataPlaneJobsPolicy, pageDataPlaneJobs},
		} {
			doc, err := policy.Parse(e.name, []byte(e.json))
			if err != nil {
				t.Errorf("Parse(%s): %v; AWS gives this policy on %s", e.name, err, e.page)
				continue
			}
			// Its MQTT statements still answer as basicJobsPolicy's do.
			d := policy.Set{doc}.Evaluate(conn("thing1", "thing1"), policy.Request{Action: policy.Publish, Resource: arn("topic", "$aws/things/thing1/jobs/get")})
			if e.name == "basic-jobs-full.json" && !d.Allowed {
				t.Errorf("%s: Publish $aws/things/thing1/jobs/get: %s, want allowed (%s statement 2)", e.name, d, pageBasicJobs)
			}
		}
	})

	// D2. pageIAMCondOps: "If the policy condition requires that the key is
	// not matched, such as StringNotLike or ArnNotLike, and the right key
	// is not present, the condition is true." iot:Connection.Thing.ThingName
	// is not present when no thing is attached (pageThingExamples: the
	// variable "won't be resolved"). policy.go makes every condition on an
	// absent key false, so a Deny guarded by StringNotLike/StringNotEquals
	// does not apply and the Allow lets the request through.
	t.Run("negated condition on an absent key", func(t *testing.T) {
		const p = `{"Version": "2012-10-17", "Statement": [
		  {"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"},
		  {"Effect": "Deny", "Action": "iot:Connect", "Resource": "*",
		   "Condition": {"StringNotLike": {"iot:Connection.Thing.ThingName": "sensor-*"}}}
		]}`
		const q = `{"Version": "2012-10-17", "Statement": [
		  {"Effect": "Allow", "Action": "iot:Connect", "Resource": "*",
		   "Condition": {"StringNotEquals": {"iot:Connection.Thing.ThingName": "blocked"}}}
		]}`
		const why = pageIAMCondOps + ": a negated operator on a key not present in the request context is true"
		run(t, policy.Set{parse(t, "not-like.json", p)}, []check{
			{why: why + " (control: the thing is attached and named sensor-1)", conn: conn("sensor-1", "sensor-1"), action: policy.Connect, kind: "client", name: "sensor-1", allow: true},
			{why: why + " (control: the thing is attached and named other)", conn: conn("other", "other"), action: policy.Connect, kind: "client", name: "other", denyBy: 2},
			{why: why + ": no thing attached, so the Deny applies", conn: conn("sensor-1", ""), action: policy.Connect, kind: "client", name: "sensor-1", denyBy: 2},
		})
		run(t, policy.Set{parse(t, "not-equals.json", q)}, []check{
			{why: why + ": no thing attached, so the Allow applies", conn: conn("c1", ""), action: policy.Connect, kind: "client", name: "c1", allow: true},
		})
	})

	// D3. pageIAMVars: "If you don't include the Version element and set it
	// to an appropriate version date, variables like ${aws:username} are
	// treated as literal strings in the policy" ("Variables were
	// introduced in version 2012-10-17"; pagePolicies: AWS IoT Core
	// policies "follow the same conventions as IAM policies"). policy.go
	// substitutes them in a document without Version or with 2008-10-17.
	t.Run("variables without Version 2012-10-17", func(t *testing.T) {
		for _, version := range []string{``, `"Version": "2008-10-17", `} {
			p := `{` + version + `"Statement": [{"Effect": "Allow", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/my/${iot:ClientId}"}]}`
			const why = pageIAMVars + ": without Version 2012-10-17 a variable is a literal string"
			run(t, policy.Set{parse(t, "old.json", p)}, []check{
				{why: why, conn: conn("c1", ""), action: policy.Publish, kind: "topic", name: "my/c1"},
				{why: why, conn: conn("c1", ""), action: policy.Publish, kind: "topic", name: "my/${iot:ClientId}", allow: true},
			})
		}
	})

	// D4. pageIAMVars, "Special characters": ${*}, ${?} and ${$} stand for
	// a literal *, ? and $ "in any string where you can use regular policy
	// variables"; pagePolicyVars says AWS IoT Core policies have them too
	// (it spells them $(*), $(?), $($)). Parse refuses them as unknown
	// variables.
	t.Run("special character variables", func(t *testing.T) {
		p := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Publish", "Resource": [
		  "arn:aws:iot:us-east-1:123456789012:topic/star/${*}",
		  "arn:aws:iot:us-east-1:123456789012:topic/question/${?}",
		  "arn:aws:iot:us-east-1:123456789012:topic/dollar/${$}"]}]}`
		doc, err := policy.Parse("special.json", []byte(p))
		if err != nil {
			t.Fatalf("Parse: %v; %s defines ${*}, ${?} and ${$}", err, pageIAMVars)
		}
		const why = pageIAMVars + ": ${*} is a literal *, ${?} a literal ?, ${$} a literal $"
		run(t, policy.Set{doc}, []check{
			{why: why, conn: conn("c1", ""), action: policy.Publish, kind: "topic", name: "star/*", allow: true},
			{why: why, conn: conn("c1", ""), action: policy.Publish, kind: "topic", name: "star/x"},
			{why: why, conn: conn("c1", ""), action: policy.Publish, kind: "topic", name: "question/?", allow: true},
			{why: why, conn: conn("c1", ""), action: policy.Publish, kind: "topic", name: "question/x"},
			{why: why, conn: conn("c1", ""), action: policy.Publish, kind: "topic", name: "dollar/$", allow: true},
		})
	})

	// D5. pageIAMCond: "Context key names are not case-sensitive. For
	// example, including the aws:SourceIP context key is equivalent to
	// testing for AWS:SourceIp"; pageIAMVars: "Key names are
	// case-insensitive. For example, aws:CurrentTime is equivalent to
	// AWS:currenttime". Parse refuses a condition key or a variable spelt
	// in another case.
	t.Run("case of key names", func(t *testing.T) {
		const why = pageIAMCond + " and " + pageIAMVars + ": key names are not case-sensitive"
		for _, p := range []string{
			// A condition key in lower case.
			`{"Version": "2012-10-17", "Statement": [
			  {"Effect": "Allow", "Action": "iot:Connect", "Resource": "*",
			   "Condition": {"Bool": {"iot:connection.thing.isattached": "true"}}}]}`,
			// A policy variable in lower case.
			`{"Version": "2012-10-17", "Statement": [
			  {"Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:us-east-1:123456789012:client/${iot:connection.thing.thingname}"}]}`,
		} {
			doc, err := policy.Parse("case.json", []byte(p))
			if err != nil {
				t.Errorf("Parse: %v; %s", err, why)
				continue
			}
			run(t, policy.Set{doc}, []check{
				{why: why, conn: conn("thing1", "thing1"), action: policy.Connect, kind: "client", name: "thing1", allow: true},
				{why: why, conn: conn("thing1", ""), action: policy.Connect, kind: "client", name: "thing1"},
			})
		}
	})
}

// ---------------------------------------------------------------------------
// Fuzzing.

// fuzzConns and fuzzRequests are the fixed requests FuzzParse evaluates
// every document it reads against.
var fuzzConns = []policy.Connection{
	conn("thing1", "thing1"), conn("thing1", ""), conn("thing1", "thing2"), conn("+", ""), conn("", ""), conn("${iot:ClientId}", "${iot:ClientId}"),
}

var fuzzRequests = []policy.Request{
	{Action: policy.Connect, Resource: arn("client", "thing1")},
	{Action: policy.Publish, Resource: arn("topic", "$aws/things/thing1/jobs/get")},
	{Action: policy.Subscribe, Resource: arn("topicfilter", "$aws/things/thing1/jobs/+/get/#")},
	{Action: policy.Receive, Resource: arn("topic", "a/b")},
	{Action: "iot:*", Resource: "*"},
	{Action: "", Resource: ""},
}

// FuzzParse: Parse never panics; what it refuses it refuses with an error
// that names the document, and what it reads Evaluate can decide without
// panicking, with a decision consistent with its deciding statement.
func FuzzParse(f *testing.F) {
	for _, e := range examples {
		f.Add([]byte(e.json))
	}
	f.Add([]byte(basicJobsPolicyFull))
	f.Add([]byte(`{"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringNotLike": {"iot:ClientId": ["${iot:Connection.Thing.ThingName}*"]}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := policy.Parse("fuzz.json", data)
		if err != nil {
			if doc != nil {
				t.Fatalf("Parse returned a document and the error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "fuzz.json") {
				t.Fatalf("Parse error %q does not name the document", err)
			}
			return
		}
		if doc == nil || len(doc.Statements) == 0 {
			t.Fatalf("Parse returned no error and document %+v", doc)
		}
		for i, s := range doc.Statements {
			if s.Index != i+1 || (s.Effect != policy.Allow && s.Effect != policy.Deny) || len(s.Actions) == 0 || len(s.Resources) == 0 {
				t.Fatalf("statement %d read as %+v", i+1, s)
			}
		}
		set := policy.Set{doc, doc}
		set.Account()
		for _, c := range fuzzConns {
			for _, r := range fuzzRequests {
				d := set.Evaluate(c, r)
				switch {
				case d.Allowed && (d.By == nil || d.By.Effect != policy.Allow):
					t.Fatalf("%+v %+v: allowed by %v", c, r, d.By)
				case !d.Allowed && d.By != nil && d.By.Effect != policy.Deny:
					t.Fatalf("%+v %+v: denied by %v", c, r, d.By)
				}
				_ = d.String()
			}
		}
	})
}

// TestFuzzSeedFiles keeps testdata/fuzz/FuzzParse, the corpus `go test
// -fuzz` starts from, in step with examples; IOTJOBS_WRITE_FUZZ_SEEDS=1
// rewrites it.
func TestFuzzSeedFiles(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	write := os.Getenv("IOTJOBS_WRITE_FUZZ_SEEDS") != ""
	if write {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range examples {
		path := filepath.Join(dir, strings.TrimSuffix(e.name, ".json"))
		want := "go test fuzz v1\n[]byte(" + strconv.Quote(e.json) + ")\n"
		if write {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v (IOTJOBS_WRITE_FUZZ_SEEDS=1 go test -run TestFuzzSeedFiles ./internal/policy/ writes it)", err)
			continue
		}
		if string(got) != want {
			t.Errorf("%s is not the seed of %s (IOTJOBS_WRITE_FUZZ_SEEDS=1 go test -run TestFuzzSeedFiles ./internal/policy/ rewrites it)", path, e.name)
		}
	}
}
