package controlplane_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// The registry (things, thing groups, event configurations) and the
// rollout, abort and retry configurations of CreateJob, as the AWS SDK for
// Go v2 sees them.

const (
	thingARNPrefix = "arn:aws:iot:us-east-1:123456789012:thing/"
	groupARNPrefix = "arn:aws:iot:us-east-1:123456789012:thinggroup/"
)

// registryClient starts an emulator and returns its SDK client and a
// context for the test's calls.
func registryClient(t *testing.T) (*testutil.Emulator, *iot.Client, context.Context) {
	t.Helper()
	emu := testutil.StartEmulator(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return emu, sdkClient(emu), ctx
}

// wantError fails unless err is the SDK's typed error E whose message
// mentions mention.
func wantError[E interface {
	error
	ErrorMessage() string
}](t *testing.T, what string, err error, mention string) {
	t.Helper()
	typed, ok := errors.AsType[E](err)
	if !ok {
		t.Errorf("%s: %v (%T), want %T", what, err, err, typed)
		return
	}
	if !strings.Contains(typed.ErrorMessage(), mention) {
		t.Errorf("%s: message %q does not mention %q", what, typed.ErrorMessage(), mention)
	}
}

// createThings registers the things, without attributes.
func createThings(t *testing.T, ctx context.Context, client *iot.Client, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := client.CreateThing(ctx, &iot.CreateThingInput{ThingName: aws.String(name)}); err != nil {
			t.Fatalf("CreateThing %s: %v", name, err)
		}
	}
}

// groupOf creates the group and adds the things to it by name.
func groupOf(t *testing.T, ctx context.Context, client *iot.Client, group string, things ...string) {
	t.Helper()
	if _, err := client.CreateThingGroup(ctx, &iot.CreateThingGroupInput{ThingGroupName: aws.String(group)}); err != nil {
		t.Fatalf("CreateThingGroup %s: %v", group, err)
	}
	for _, thing := range things {
		if _, err := client.AddThingToThingGroup(ctx, &iot.AddThingToThingGroupInput{
			ThingGroupName: aws.String(group), ThingName: aws.String(thing),
		}); err != nil {
			t.Fatalf("AddThingToThingGroup %s %s: %v", group, thing, err)
		}
	}
}

// thingsInGroup lists a group's members with the SDK's paginator, pageSize
// at a time.
func thingsInGroup(t *testing.T, ctx context.Context, client *iot.Client, group string, pageSize int32) []string {
	t.Helper()
	var names []string
	pages := iot.NewListThingsInThingGroupPaginator(client, &iot.ListThingsInThingGroupInput{
		ThingGroupName: aws.String(group), MaxResults: aws.Int32(pageSize),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListThingsInThingGroup %s: %v", group, err)
		}
		names = append(names, page.Things...)
	}
	return names
}

// The refusals of the HTTP layer: names the model does not allow and
// members the emulator has no behaviour for, refused before the engine
// sees them.
func TestRegistryRefusalsWithTheAWSSDK(t *testing.T) {
	_, client, ctx := registryClient(t)
	tests := []struct {
		name    string
		call    func() error
		mention string
	}{
		{"CreateThing bad name", func() error {
			_, err := client.CreateThing(ctx, &iot.CreateThingInput{ThingName: aws.String("bad$thing")})
			return err
		}, "thing name"},
		{"CreateThing billing group", func() error {
			_, err := client.CreateThing(ctx, &iot.CreateThingInput{ThingName: aws.String("dev-1"), BillingGroupName: aws.String("b")})
			return err
		}, "billingGroupName is not supported by the emulator"},
		{"DescribeThing bad name", func() error {
			_, err := client.DescribeThing(ctx, &iot.DescribeThingInput{ThingName: aws.String("bad thing")})
			return err
		}, "thing name"},
		{"ListThings by attribute", func() error {
			_, err := client.ListThings(ctx, &iot.ListThingsInput{AttributeName: aws.String("model"), AttributeValue: aws.String("m1")})
			return err
		}, "attributeName"},
		{"ListThings maxResults 500", func() error {
			_, err := client.ListThings(ctx, &iot.ListThingsInput{MaxResults: aws.Int32(500)})
			return err
		}, "maxResults"},
		{"DeleteThing bad name", func() error {
			_, err := client.DeleteThing(ctx, &iot.DeleteThingInput{ThingName: aws.String("bad$thing")})
			return err
		}, "thing name"},
		{"CreateThingGroup bad name", func() error {
			_, err := client.CreateThingGroup(ctx, &iot.CreateThingGroupInput{ThingGroupName: aws.String("bad group")})
			return err
		}, "thing group name"},
		{"CreateThingGroup parent", func() error {
			_, err := client.CreateThingGroup(ctx, &iot.CreateThingGroupInput{ThingGroupName: aws.String("g"), ParentGroupName: aws.String("p")})
			return err
		}, "parentGroupName is not supported by the emulator"},
		{"CreateThingGroup tags", func() error {
			_, err := client.CreateThingGroup(ctx, &iot.CreateThingGroupInput{
				ThingGroupName: aws.String("g"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}},
			})
			return err
		}, "tags is not supported by the emulator"},
		{"DescribeThingGroup bad name", func() error {
			_, err := client.DescribeThingGroup(ctx, &iot.DescribeThingGroupInput{ThingGroupName: aws.String("bad.group")})
			return err
		}, "thing group name"},
		{"DeleteThingGroup bad name", func() error {
			_, err := client.DeleteThingGroup(ctx, &iot.DeleteThingGroupInput{ThingGroupName: aws.String("bad.group")})
			return err
		}, "thing group name"},
		{"AddThingToThingGroup overriding dynamic groups", func() error {
			_, err := client.AddThingToThingGroup(ctx, &iot.AddThingToThingGroupInput{
				ThingGroupName: aws.String("g"), ThingName: aws.String("dev-1"), OverrideDynamicGroups: true,
			})
			return err
		}, "overrideDynamicGroups is not supported by the emulator"},
		{"AddThingToThingGroup without a thing", func() error {
			_, err := client.AddThingToThingGroup(ctx, &iot.AddThingToThingGroupInput{ThingGroupName: aws.String("g")})
			return err
		}, "thingName or thingArn"},
		{"AddThingToThingGroup group ARN as the thing", func() error {
			_, err := client.AddThingToThingGroup(ctx, &iot.AddThingToThingGroupInput{
				ThingGroupName: aws.String("g"), ThingArn: aws.String(groupARNPrefix + "g"),
			})
			return err
		}, "not a thing ARN"},
		{"AddThingToThingGroup bad group name", func() error {
			_, err := client.AddThingToThingGroup(ctx, &iot.AddThingToThingGroupInput{
				ThingGroupName: aws.String("bad group"), ThingName: aws.String("dev-1"),
			})
			return err
		}, "thing group name"},
		{"RemoveThingFromThingGroup bad thing name", func() error {
			_, err := client.RemoveThingFromThingGroup(ctx, &iot.RemoveThingFromThingGroupInput{
				ThingGroupArn: aws.String(groupARNPrefix + "g"), ThingArn: aws.String(thingARNPrefix + "bad$thing"),
			})
			return err
		}, "thing name"},
		{"ListThingsInThingGroup maxResults 0", func() error {
			_, err := client.ListThingsInThingGroup(ctx, &iot.ListThingsInThingGroupInput{ThingGroupName: aws.String("g"), MaxResults: aws.Int32(0)})
			return err
		}, "maxResults"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError[*types.InvalidRequestException](t, tt.name, tt.call(), tt.mention)
		})
	}
}

func TestThingsWithTheAWSSDK(t *testing.T) {
	_, client, ctx := registryClient(t)
	attributes := &types.AttributePayload{Attributes: map[string]string{"model": "m1"}}
	created, err := client.CreateThing(ctx, &iot.CreateThingInput{ThingName: aws.String("dev-1"), AttributePayload: attributes})
	if err != nil {
		t.Fatalf("CreateThing: %v", err)
	}
	if aws.ToString(created.ThingName) != "dev-1" || aws.ToString(created.ThingArn) != thingARNPrefix+"dev-1" || aws.ToString(created.ThingId) == "" {
		t.Errorf("CreateThing output: name %q, arn %q, id %q", aws.ToString(created.ThingName), aws.ToString(created.ThingArn), aws.ToString(created.ThingId))
	}
	again, err := client.CreateThing(ctx, &iot.CreateThingInput{ThingName: aws.String("dev-1"), AttributePayload: attributes})
	if err != nil || aws.ToString(again.ThingId) != aws.ToString(created.ThingId) {
		t.Errorf("CreateThing again with the same attributes: id %q, %v; want the same thing", aws.ToString(again.ThingId), err)
	}
	_, err = client.CreateThing(ctx, &iot.CreateThingInput{
		ThingName: aws.String("dev-1"), AttributePayload: &types.AttributePayload{Attributes: map[string]string{"model": "m2"}},
	})
	wantError[*types.ResourceAlreadyExistsException](t, "CreateThing again with other attributes", err, "dev-1")

	thing, err := client.DescribeThing(ctx, &iot.DescribeThingInput{ThingName: aws.String("dev-1")})
	if err != nil {
		t.Fatalf("DescribeThing: %v", err)
	}
	if aws.ToString(thing.ThingName) != "dev-1" || aws.ToString(thing.ThingArn) != thingARNPrefix+"dev-1" ||
		aws.ToString(thing.ThingId) != aws.ToString(created.ThingId) || aws.ToString(thing.DefaultClientId) != "dev-1" ||
		thing.Attributes["model"] != "m1" || thing.Version != 1 {
		t.Errorf("DescribeThing: %+v", thing)
	}
	_, err = client.DescribeThing(ctx, &iot.DescribeThingInput{ThingName: aws.String("ghost")})
	wantError[*types.ResourceNotFoundException](t, "DescribeThing of an unknown thing", err, "ghost")

	createThings(t, ctx, client, "dev-3", "dev-2")
	listThings := func() (names []string, pageCount int) {
		pages := iot.NewListThingsPaginator(client, &iot.ListThingsInput{MaxResults: aws.Int32(2)})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				t.Fatalf("ListThings: %v", err)
			}
			pageCount++
			for _, th := range page.Things {
				names = append(names, aws.ToString(th.ThingName))
				if aws.ToString(th.ThingArn) != thingARNPrefix+aws.ToString(th.ThingName) || th.Version != 1 {
					t.Errorf("ListThings: %+v", th)
				}
			}
		}
		return names, pageCount
	}
	if names, pageCount := listThings(); !slices.Equal(names, []string{"dev-1", "dev-2", "dev-3"}) || pageCount != 2 {
		t.Errorf("ListThings by 2: %v in %d pages, want dev-1, dev-2, dev-3 in 2", names, pageCount)
	}

	_, err = client.DeleteThing(ctx, &iot.DeleteThingInput{ThingName: aws.String("dev-3"), ExpectedVersion: aws.Int64(9)})
	wantError[*types.VersionConflictException](t, "DeleteThing with a stale expectedVersion", err, "expectedVersion")
	if _, err := client.DeleteThing(ctx, &iot.DeleteThingInput{ThingName: aws.String("dev-2"), ExpectedVersion: aws.Int64(1)}); err != nil {
		t.Fatalf("DeleteThing: %v", err)
	}
	_, err = client.DescribeThing(ctx, &iot.DescribeThingInput{ThingName: aws.String("dev-2")})
	wantError[*types.ResourceNotFoundException](t, "DescribeThing of a deleted thing", err, "dev-2")
	if names, _ := listThings(); !slices.Equal(names, []string{"dev-1", "dev-3"}) {
		t.Errorf("ListThings after DeleteThing: %v", names)
	}
}

func TestThingGroupsWithTheAWSSDK(t *testing.T) {
	_, client, ctx := registryClient(t)
	createThings(t, ctx, client, "dev-1", "dev-2", "dev-3")

	properties := &types.ThingGroupProperties{
		ThingGroupDescription: aws.String("the lab's devices"),
		AttributePayload:      &types.AttributePayload{Attributes: map[string]string{"site": "lab"}},
	}
	created, err := client.CreateThingGroup(ctx, &iot.CreateThingGroupInput{ThingGroupName: aws.String("fleet"), ThingGroupProperties: properties})
	if err != nil {
		t.Fatalf("CreateThingGroup: %v", err)
	}
	if aws.ToString(created.ThingGroupName) != "fleet" || aws.ToString(created.ThingGroupArn) != groupARNPrefix+"fleet" || aws.ToString(created.ThingGroupId) == "" {
		t.Errorf("CreateThingGroup output: %+v", created)
	}
	group, err := client.DescribeThingGroup(ctx, &iot.DescribeThingGroupInput{ThingGroupName: aws.String("fleet")})
	if err != nil {
		t.Fatalf("DescribeThingGroup: %v", err)
	}
	if aws.ToString(group.ThingGroupName) != "fleet" || aws.ToString(group.ThingGroupArn) != groupARNPrefix+"fleet" ||
		aws.ToString(group.ThingGroupId) != aws.ToString(created.ThingGroupId) || group.Version != 1 ||
		group.ThingGroupProperties == nil || aws.ToString(group.ThingGroupProperties.ThingGroupDescription) != "the lab's devices" ||
		group.ThingGroupProperties.AttributePayload == nil || group.ThingGroupProperties.AttributePayload.Attributes["site"] != "lab" {
		t.Errorf("DescribeThingGroup: %+v", group)
	}
	if group.ThingGroupMetadata == nil {
		t.Error("DescribeThingGroup: no thingGroupMetadata")
	} else {
		near(t, "thingGroupMetadata.creationDate", group.ThingGroupMetadata.CreationDate)
	}

	// By names, and by ARNs.
	groupOf(t, ctx, client, "others")
	if _, err := client.AddThingToThingGroup(ctx, &iot.AddThingToThingGroupInput{ThingGroupName: aws.String("fleet"), ThingName: aws.String("dev-1")}); err != nil {
		t.Fatalf("AddThingToThingGroup by names: %v", err)
	}
	if _, err := client.AddThingToThingGroup(ctx, &iot.AddThingToThingGroupInput{
		ThingGroupArn: aws.String(groupARNPrefix + "fleet"), ThingArn: aws.String(thingARNPrefix + "dev-2"),
	}); err != nil {
		t.Fatalf("AddThingToThingGroup by ARNs: %v", err)
	}
	if names := thingsInGroup(t, ctx, client, "fleet", 1); !slices.Equal(names, []string{"dev-1", "dev-2"}) {
		t.Errorf("ListThingsInThingGroup by 1: %v, want dev-1, dev-2", names)
	}
	recursive, err := client.ListThingsInThingGroup(ctx, &iot.ListThingsInThingGroupInput{ThingGroupName: aws.String("fleet"), Recursive: true})
	if err != nil || !slices.Equal(recursive.Things, []string{"dev-1", "dev-2"}) || recursive.NextToken != nil {
		t.Errorf("ListThingsInThingGroup recursive: %+v, %v; want dev-1, dev-2 (groups are flat)", recursive, err)
	}
	if names := thingsInGroup(t, ctx, client, "others", 10); len(names) != 0 {
		t.Errorf("ListThingsInThingGroup of an empty group: %v", names)
	}

	// ListThingGroups: by name, paged by the SDK's paginator, with a name
	// prefix; groups are flat, so none has a parent.
	groupOf(t, ctx, client, "fleet-b")
	var listed []string
	pages := iot.NewListThingGroupsPaginator(client, &iot.ListThingGroupsInput{MaxResults: aws.Int32(1)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListThingGroups: %v", err)
		}
		for _, g := range page.ThingGroups {
			listed = append(listed, aws.ToString(g.GroupName))
			if aws.ToString(g.GroupArn) != groupARNPrefix+aws.ToString(g.GroupName) {
				t.Errorf("ListThingGroups: %s has ARN %s", aws.ToString(g.GroupName), aws.ToString(g.GroupArn))
			}
		}
	}
	if !slices.Equal(listed, []string{"fleet", "fleet-b", "others"}) {
		t.Errorf("ListThingGroups by 1: %v, want fleet, fleet-b, others", listed)
	}
	prefixed, err := client.ListThingGroups(ctx, &iot.ListThingGroupsInput{NamePrefixFilter: aws.String("fleet"), Recursive: aws.Bool(true)})
	if err != nil || len(prefixed.ThingGroups) != 2 || prefixed.NextToken != nil {
		t.Errorf("ListThingGroups fleet*: %+v, %v; want fleet, fleet-b", prefixed, err)
	}
	children, err := client.ListThingGroups(ctx, &iot.ListThingGroupsInput{ParentGroup: aws.String("fleet")})
	if err != nil || len(children.ThingGroups) != 0 {
		t.Errorf("ListThingGroups under fleet: %+v, %v; want none (groups are flat)", children, err)
	}

	if _, err := client.RemoveThingFromThingGroup(ctx, &iot.RemoveThingFromThingGroupInput{
		ThingGroupArn: aws.String(groupARNPrefix + "fleet"), ThingName: aws.String("dev-1"),
	}); err != nil {
		t.Fatalf("RemoveThingFromThingGroup: %v", err)
	}
	if names := thingsInGroup(t, ctx, client, "fleet", 10); !slices.Equal(names, []string{"dev-2"}) {
		t.Errorf("ListThingsInThingGroup after RemoveThingFromThingGroup: %v, want dev-2", names)
	}

	_, err = client.AddThingToThingGroup(ctx, &iot.AddThingToThingGroupInput{ThingGroupName: aws.String("fleet"), ThingName: aws.String("ghost")})
	wantError[*types.ResourceNotFoundException](t, "AddThingToThingGroup of an unregistered thing", err, "ghost")
	_, err = client.AddThingToThingGroup(ctx, &iot.AddThingToThingGroupInput{ThingGroupName: aws.String("nowhere"), ThingName: aws.String("dev-1")})
	wantError[*types.ResourceNotFoundException](t, "AddThingToThingGroup to an unknown group", err, "nowhere")
	_, err = client.DescribeThingGroup(ctx, &iot.DescribeThingGroupInput{ThingGroupName: aws.String("nowhere")})
	wantError[*types.ResourceNotFoundException](t, "DescribeThingGroup of an unknown group", err, "nowhere")
	_, err = client.ListThingsInThingGroup(ctx, &iot.ListThingsInThingGroupInput{ThingGroupName: aws.String("nowhere")})
	wantError[*types.ResourceNotFoundException](t, "ListThingsInThingGroup of an unknown group", err, "nowhere")

	// A thing belongs to at most 10 groups. The 11th is an
	// InvalidRequestException, an error AddThingToThingGroup's model lists
	// (it lists no LimitExceededException), so SDKs type it.
	for i := range iotapi.MaxGroupsPerThing {
		groupOf(t, ctx, client, "g"+string(rune('a'+i)), "dev-3")
	}
	groupOf(t, ctx, client, "g-eleventh")
	_, err = client.AddThingToThingGroup(ctx, &iot.AddThingToThingGroupInput{ThingGroupName: aws.String("g-eleventh"), ThingName: aws.String("dev-3")})
	wantError[*types.InvalidRequestException](t, "AddThingToThingGroup to an 11th group", err, "dev-3")

	// Deleting a group removes its members: dev-3 has room again, and a
	// group created anew under the old name starts empty.
	if _, err := client.DeleteThingGroup(ctx, &iot.DeleteThingGroupInput{ThingGroupName: aws.String("ga"), ExpectedVersion: aws.Int64(1)}); err != nil {
		t.Fatalf("DeleteThingGroup: %v", err)
	}
	if _, err := client.AddThingToThingGroup(ctx, &iot.AddThingToThingGroupInput{ThingGroupName: aws.String("g-eleventh"), ThingName: aws.String("dev-3")}); err != nil {
		t.Errorf("AddThingToThingGroup after one of its groups was deleted: %v", err)
	}
	if _, err := client.DeleteThingGroup(ctx, &iot.DeleteThingGroupInput{ThingGroupName: aws.String("fleet")}); err != nil {
		t.Fatalf("DeleteThingGroup of a group with members: %v", err)
	}
	_, err = client.DescribeThingGroup(ctx, &iot.DescribeThingGroupInput{ThingGroupName: aws.String("fleet")})
	wantError[*types.ResourceNotFoundException](t, "DescribeThingGroup of a deleted group", err, "fleet")
	groupOf(t, ctx, client, "fleet")
	if names := thingsInGroup(t, ctx, client, "fleet", 10); len(names) != 0 {
		t.Errorf("a group created again under a deleted one's name has members %v", names)
	}
	if _, err := client.DescribeThing(ctx, &iot.DescribeThingInput{ThingName: aws.String("dev-2")}); err != nil {
		t.Errorf("DescribeThing of a member of a deleted group: %v", err)
	}
}

func TestEventConfigurationsWithTheAWSSDK(t *testing.T) {
	_, client, ctx := registryClient(t)
	update := func(job, execution bool) {
		t.Helper()
		if _, err := client.UpdateEventConfigurations(ctx, &iot.UpdateEventConfigurationsInput{
			EventConfigurations: map[string]types.Configuration{
				iotapi.EventTypeJob: {Enabled: job}, iotapi.EventTypeJobExecution: {Enabled: execution},
			},
		}); err != nil {
			t.Fatalf("UpdateEventConfigurations: %v", err)
		}
	}
	describe := func() *iot.DescribeEventConfigurationsOutput {
		t.Helper()
		out, err := client.DescribeEventConfigurations(ctx, &iot.DescribeEventConfigurationsInput{})
		if err != nil {
			t.Fatalf("DescribeEventConfigurations: %v", err)
		}
		return out
	}
	for _, eventType := range []string{iotapi.EventTypeJob, iotapi.EventTypeJobExecution} {
		if c, ok := describe().EventConfigurations[eventType]; !ok || c.Enabled {
			t.Errorf("%s before any update: %+v, listed %t; want listed and disabled", eventType, c, ok)
		}
	}
	update(true, false)
	out := describe()
	if !out.EventConfigurations[iotapi.EventTypeJob].Enabled || out.EventConfigurations[iotapi.EventTypeJobExecution].Enabled {
		t.Errorf("after enabling JOB only: %+v", out.EventConfigurations)
	}
	near(t, "lastModifiedDate", out.LastModifiedDate)
	update(false, true)
	if out := describe(); out.EventConfigurations[iotapi.EventTypeJob].Enabled || !out.EventConfigurations[iotapi.EventTypeJobExecution].Enabled {
		t.Errorf("after enabling JOB_EXECUTION only: %+v", out.EventConfigurations)
	}
}

// rolloutJob is a CreateJob input of a continuous job on the group with
// every rollout configuration set.
func rolloutJob(jobID, group string) *iot.CreateJobInput {
	return &iot.CreateJobInput{
		JobId:           aws.String(jobID),
		Targets:         []string{groupARNPrefix + group},
		Document:        aws.String(`{"operation":"install"}`),
		TargetSelection: types.TargetSelectionContinuous,
		JobExecutionsRolloutConfig: &types.JobExecutionsRolloutConfig{
			MaximumPerMinute: aws.Int32(100),
			ExponentialRate: &types.ExponentialRolloutRate{
				BaseRatePerMinute: aws.Int32(10), IncrementFactor: aws.Float64(1.5),
				RateIncreaseCriteria: &types.RateIncreaseCriteria{NumberOfNotifiedThings: aws.Int32(5)},
			},
		},
		AbortConfig: &types.AbortConfig{CriteriaList: []types.AbortCriteria{{
			FailureType: types.JobExecutionFailureTypeFailed, Action: types.AbortActionCancel,
			ThresholdPercentage: aws.Float64(12.5), MinNumberOfExecutedThings: aws.Int32(3),
		}}},
		JobExecutionsRetryConfig: &types.JobExecutionsRetryConfig{CriteriaList: []types.RetryCriteria{
			{FailureType: types.RetryableFailureTypeFailed, NumberOfRetries: aws.Int32(3)},
			{FailureType: types.RetryableFailureTypeTimedOut, NumberOfRetries: aws.Int32(2)},
		}},
	}
}

func TestRolloutConfigurationsWithTheAWSSDK(t *testing.T) {
	_, client, ctx := registryClient(t)
	createThings(t, ctx, client, "dev-1")
	groupOf(t, ctx, client, "fleet", "dev-1")

	in := rolloutJob("rollout", "fleet")
	if _, err := client.CreateJob(ctx, in); err != nil {
		t.Fatalf("CreateJob: %v", err)
	}
	described, err := client.DescribeJob(ctx, &iot.DescribeJobInput{JobId: aws.String("rollout")})
	if err != nil {
		t.Fatalf("DescribeJob: %v", err)
	}
	job := described.Job
	if job.TargetSelection != types.TargetSelectionContinuous || !slices.Equal(job.Targets, []string{groupARNPrefix + "fleet"}) || job.IsConcurrent == nil {
		t.Errorf("DescribeJob: targetSelection %s, targets %v, isConcurrent %v", job.TargetSelection, job.Targets, job.IsConcurrent)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"jobExecutionsRolloutConfig", job.JobExecutionsRolloutConfig, in.JobExecutionsRolloutConfig},
		{"abortConfig", job.AbortConfig, in.AbortConfig},
		{"jobExecutionsRetryConfig", job.JobExecutionsRetryConfig, in.JobExecutionsRetryConfig},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			got, _ := json.Marshal(c.got)
			want, _ := json.Marshal(c.want)
			t.Errorf("DescribeJob %s = %s, want %s", c.name, got, want)
		}
	}

	_, err = client.CreateJob(ctx, rolloutJob("no-group", "nowhere"))
	wantError[*types.ResourceNotFoundException](t, "CreateJob on an unknown group", err, "nowhere")

	bad := []struct {
		name    string
		spoil   func(*iot.CreateJobInput)
		mention string
	}{
		{"maximumPerMinute 0", func(in *iot.CreateJobInput) { in.JobExecutionsRolloutConfig.MaximumPerMinute = aws.Int32(0) }, "maximumPerMinute"},
		{"incrementFactor 1.55", func(in *iot.CreateJobInput) {
			in.JobExecutionsRolloutConfig.ExponentialRate.IncrementFactor = aws.Float64(1.55)
		}, "incrementFactor"},
		{"thresholdPercentage 100.001", func(in *iot.CreateJobInput) {
			in.AbortConfig.CriteriaList[0].ThresholdPercentage = aws.Float64(100.001)
		}, "thresholdPercentage"},
		{"numberOfRetries 11", func(in *iot.CreateJobInput) {
			in.JobExecutionsRetryConfig.CriteriaList[0].NumberOfRetries = aws.Int32(11)
		}, "numberOfRetries"},
		{"retry on REJECTED", func(in *iot.CreateJobInput) {
			in.JobExecutionsRetryConfig.CriteriaList[1].FailureType = types.RetryableFailureType(iotapi.FailureRejected)
		}, "failureType"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			in := rolloutJob("bad", "fleet")
			tt.spoil(in)
			_, err := client.CreateJob(ctx, in)
			wantError[*types.InvalidRequestException](t, "CreateJob with "+tt.name, err, tt.mention)
		})
	}
	// Nothing of the refused creations was kept.
	_, err = client.DescribeJob(ctx, &iot.DescribeJobInput{JobId: aws.String("bad")})
	wantError[*types.ResourceNotFoundException](t, "DescribeJob of a refused job", err, "bad")
}

// executionStatus is the status of the thing's execution of the job.
func executionStatus(t *testing.T, ctx context.Context, client *iot.Client, jobID, thing string) types.JobExecutionStatus {
	t.Helper()
	out, err := client.DescribeJobExecution(ctx, &iot.DescribeJobExecutionInput{JobId: aws.String(jobID), ThingName: aws.String(thing)})
	if err != nil {
		t.Fatalf("DescribeJobExecution %s %s: %v", jobID, thing, err)
	}
	return out.Execution.Status
}

// A continuous job follows its group: a thing added later gets an
// execution, a thing removed has its pending one REMOVED. A snapshot job on
// the same group does neither.
func TestContinuousJobFollowsItsGroupWithTheAWSSDK(t *testing.T) {
	_, client, ctx := registryClient(t)
	createThings(t, ctx, client, "dev-1", "dev-2")
	groupOf(t, ctx, client, "fleet", "dev-1")
	for _, selection := range []types.TargetSelection{types.TargetSelectionContinuous, types.TargetSelectionSnapshot} {
		if _, err := client.CreateJob(ctx, &iot.CreateJobInput{
			JobId: aws.String(strings.ToLower(string(selection))), Targets: []string{groupARNPrefix + "fleet"},
			Document: aws.String("{}"), TargetSelection: selection,
		}); err != nil {
			t.Fatalf("CreateJob %s: %v", selection, err)
		}
	}
	for _, jobID := range []string{"continuous", "snapshot"} {
		if status := executionStatus(t, ctx, client, jobID, "dev-1"); status != types.JobExecutionStatusQueued {
			t.Errorf("%s job: dev-1 (a member at creation) is %s, want QUEUED", jobID, status)
		}
	}

	if _, err := client.AddThingToThingGroup(ctx, &iot.AddThingToThingGroupInput{ThingGroupName: aws.String("fleet"), ThingName: aws.String("dev-2")}); err != nil {
		t.Fatalf("AddThingToThingGroup: %v", err)
	}
	if status := executionStatus(t, ctx, client, "continuous", "dev-2"); status != types.JobExecutionStatusQueued {
		t.Errorf("continuous job: dev-2 added later is %s, want QUEUED", status)
	}
	forThing, err := client.ListJobExecutionsForThing(ctx, &iot.ListJobExecutionsForThingInput{ThingName: aws.String("dev-2")})
	if err != nil || len(forThing.ExecutionSummaries) != 1 || aws.ToString(forThing.ExecutionSummaries[0].JobId) != "continuous" {
		t.Errorf("ListJobExecutionsForThing dev-2: %+v, %v; want the continuous job's only", forThing, err)
	}

	if _, err := client.RemoveThingFromThingGroup(ctx, &iot.RemoveThingFromThingGroupInput{ThingGroupName: aws.String("fleet"), ThingName: aws.String("dev-2")}); err != nil {
		t.Fatalf("RemoveThingFromThingGroup: %v", err)
	}
	if status := executionStatus(t, ctx, client, "continuous", "dev-2"); status != types.JobExecutionStatusRemoved {
		t.Errorf("continuous job: dev-2 removed from the group is %s, want REMOVED", status)
	}
	described, err := client.DescribeJob(ctx, &iot.DescribeJobInput{JobId: aws.String("continuous")})
	if err != nil || aws.ToInt32(described.Job.JobProcessDetails.NumberOfRemovedThings) != 1 || aws.ToInt32(described.Job.JobProcessDetails.NumberOfQueuedThings) != 1 {
		t.Errorf("DescribeJob after the removal: %+v, %v; want 1 removed, 1 queued", described.Job.JobProcessDetails, err)
	}
}

// The emulator's rollout view is not an AWS operation: plain HTTP.
func TestRolloutStateRoute(t *testing.T) {
	emu, client, ctx := registryClient(t)
	createThings(t, ctx, client, "dev-1")
	groupOf(t, ctx, client, "fleet", "dev-1")
	if _, err := client.CreateJob(ctx, &iot.CreateJobInput{
		JobId: aws.String("paced"), Targets: []string{groupARNPrefix + "fleet"}, Document: aws.String("{}"),
		JobExecutionsRolloutConfig: &types.JobExecutionsRolloutConfig{MaximumPerMinute: aws.Int32(5)},
	}); err != nil {
		t.Fatalf("CreateJob: %v", err)
	}

	r := cpCall(t, emu, "GET", iotapi.RouteRolloutState.Path("paced"), "")
	if r.Status != 200 {
		t.Fatalf("rollout state: status %d: %s", r.Status, r.Body)
	}
	var state iotapi.RolloutState
	if err := json.Unmarshal(r.Body, &state); err != nil {
		t.Fatalf("rollout state: %v: %s", err, r.Body)
	}
	if state.JobID != "paced" || state.RatePerMinute != 5 || state.Notified != 1 || state.Waiting != 0 || state.Aborted != nil {
		t.Errorf("rollout state: %s", r.Body)
	}

	for _, tt := range []struct {
		jobID, errorType string
		status           int
	}{
		{"nope", "ResourceNotFoundException", 404},
		{"bad.id", "InvalidRequestException", 400},
	} {
		if r := cpCall(t, emu, "GET", iotapi.RouteRolloutState.Path(tt.jobID), ""); r.Status != tt.status || r.ErrorType != tt.errorType {
			t.Errorf("rollout state of %s: status %d %q, want %d %q: %s", tt.jobID, r.Status, r.ErrorType, tt.status, tt.errorType, r.Body)
		}
	}
}
