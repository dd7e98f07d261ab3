package controlplane

import (
	"encoding/json"
	"net/http"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// The registry routes: CreateThing, DescribeThing, ListThings, DeleteThing,
// ListThingGroups, CreateThingGroup, DescribeThingGroup, DeleteThingGroup,
// AddThingToThingGroup, RemoveThingFromThingGroup, ListThingsInThingGroup,
// UpdateEventConfigurations and DescribeEventConfigurations. Groups are
// flat: no parent groups, no dynamic groups, no billing groups.

// groupPage reads the paging of a list of groups or of a group's things,
// and checks their recursive, which changes nothing: groups are flat.
func groupPage(r *http.Request) (maxResults int, nextToken string, err error) {
	if maxResults, nextToken, err = queryPage(r); err == nil {
		_, err = queryBool(r, "recursive")
	}
	return maxResults, nextToken, err
}

func pathGroup(r *http.Request) (string, error) {
	group := r.PathValue("thingGroupName")
	if err := iotapi.ValidateThingGroupName(group); err != nil {
		return "", err
	}
	return group, nil
}

func (cp *controlPlane) createThing(w http.ResponseWriter, r *http.Request) {
	var in iotapi.CreateThingInput
	var present map[string]json.RawMessage
	var err error
	in.ThingName, err = pathThing(r)
	if err == nil {
		present, err = decodeBody(r, &in)
	}
	if err == nil {
		err = unsupported(present, "billingGroupName")
	}
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := cp.engine.CreateThing(in)
	reply(w, out, err)
}

func (cp *controlPlane) describeThing(w http.ResponseWriter, r *http.Request) {
	thing, err := pathThing(r)
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := cp.engine.DescribeThing(thing)
	reply(w, out, err)
}

func (cp *controlPlane) listThings(w http.ResponseWriter, r *http.Request) {
	var in iotapi.ListThingsInput
	var err error
	in.MaxResults, in.NextToken, err = queryPage(r)
	if err == nil {
		err = unsupportedQuery(r, "attributeName", "attributeValue", "thingTypeName", "usePrefixAttributeValue")
	}
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := cp.engine.ListThings(in)
	reply(w, out, err)
}

func (cp *controlPlane) deleteThing(w http.ResponseWriter, r *http.Request) {
	var in iotapi.DeleteThingInput
	var err error
	in.ThingName, err = pathThing(r)
	if err == nil {
		in.ExpectedVersion, err = queryInt64(r, "expectedVersion")
	}
	if err == nil {
		err = cp.engine.DeleteThing(in)
	}
	reply(w, nil, err)
}

func (cp *controlPlane) createThingGroup(w http.ResponseWriter, r *http.Request) {
	var in iotapi.CreateThingGroupInput
	var present map[string]json.RawMessage
	var err error
	in.ThingGroupName, err = pathGroup(r)
	if err == nil {
		present, err = decodeBody(r, &in)
	}
	if err == nil {
		err = unsupported(present, "parentGroupName", "tags")
	}
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := cp.engine.CreateThingGroup(in)
	reply(w, out, err)
}

// listThingGroups: groups are flat, so no group is the child of
// parentGroup, and every group is a root (recursive changes nothing).
func (cp *controlPlane) listThingGroups(w http.ResponseWriter, r *http.Request) {
	var in iotapi.ListThingGroupsInput
	var err error
	in.MaxResults, in.NextToken, err = groupPage(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if r.URL.Query().Has("parentGroup") {
		reply(w, iotapi.ListThingGroupsOutput{ThingGroups: []iotapi.GroupNameAndArn{}}, nil)
		return
	}
	in.NamePrefixFilter = r.URL.Query().Get("namePrefixFilter")
	out, err := cp.engine.ListThingGroups(in)
	reply(w, out, err)
}

func (cp *controlPlane) describeThingGroup(w http.ResponseWriter, r *http.Request) {
	group, err := pathGroup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := cp.engine.DescribeThingGroup(group)
	reply(w, out, err)
}

func (cp *controlPlane) deleteThingGroup(w http.ResponseWriter, r *http.Request) {
	var in iotapi.DeleteThingGroupInput
	var err error
	in.ThingGroupName, err = pathGroup(r)
	if err == nil {
		in.ExpectedVersion, err = queryInt64(r, "expectedVersion")
	}
	if err == nil {
		err = cp.engine.DeleteThingGroup(in)
	}
	reply(w, nil, err)
}

// membership reads the body of AddThingToThingGroup and
// RemoveThingFromThingGroup: the group and the thing, each by name or ARN.
// Without dynamic groups there is nothing for overrideDynamicGroups to
// override: false is accepted, true refused.
func membership(r *http.Request) (group, thing string, err error) {
	var in struct {
		iotapi.ThingGroupMembershipInput
		OverrideDynamicGroups bool `json:"overrideDynamicGroups"`
	}
	if _, err = decodeBody(r, &in); err != nil {
		return "", "", err
	}
	if in.OverrideDynamicGroups {
		return "", "", invalidRequest("overrideDynamicGroups is not supported by the emulator, which has no dynamic thing groups")
	}
	if group, thing, err = in.Names(); err != nil {
		return "", "", err
	}
	if err = iotapi.ValidateThingGroupName(group); err != nil {
		return "", "", err
	}
	if err = jobs.ValidateThingName(thing); err != nil {
		return "", "", invalidRequest("%v", err)
	}
	return group, thing, nil
}

func (cp *controlPlane) addThingToThingGroup(w http.ResponseWriter, r *http.Request) {
	group, thing, err := membership(r)
	if err == nil {
		err = cp.engine.AddThingToThingGroup(group, thing)
	}
	reply(w, nil, err)
}

func (cp *controlPlane) removeThingFromThingGroup(w http.ResponseWriter, r *http.Request) {
	group, thing, err := membership(r)
	if err == nil {
		err = cp.engine.RemoveThingFromThingGroup(group, thing)
	}
	reply(w, nil, err)
}

// listThingsInThingGroup accepts recursive: groups are flat, so a group's
// members and its subtree's are the same.
func (cp *controlPlane) listThingsInThingGroup(w http.ResponseWriter, r *http.Request) {
	var in iotapi.ListThingsInThingGroupInput
	var err error
	in.ThingGroupName, err = pathGroup(r)
	if err == nil {
		in.MaxResults, in.NextToken, err = groupPage(r)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := cp.engine.ListThingsInThingGroup(in)
	reply(w, out, err)
}

func (cp *controlPlane) updateEventConfigurations(w http.ResponseWriter, r *http.Request) {
	var in iotapi.UpdateEventConfigurationsInput
	_, err := decodeBody(r, &in)
	if err == nil {
		err = cp.engine.UpdateEventConfigurations(in)
	}
	reply(w, nil, err)
}

func (cp *controlPlane) describeEventConfigurations(w http.ResponseWriter, _ *http.Request) {
	reply(w, cp.engine.DescribeEventConfigurations(), nil)
}
