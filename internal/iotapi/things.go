package iotapi

import (
	"net/http"
)

// The routes of the registry operations the emulator serves: things, thing
// groups (flat: no parent groups, no dynamic groups) and their members.
var (
	RouteCreateThing               = Route{http.MethodPost, "/things/{thingName}"}
	RouteDescribeThing             = Route{http.MethodGet, "/things/{thingName}"}
	RouteListThings                = Route{http.MethodGet, "/things"}
	RouteDeleteThing               = Route{http.MethodDelete, "/things/{thingName}"}
	RouteListThingGroups           = Route{http.MethodGet, "/thing-groups"}
	RouteCreateThingGroup          = Route{http.MethodPost, "/thing-groups/{thingGroupName}"}
	RouteDescribeThingGroup        = Route{http.MethodGet, "/thing-groups/{thingGroupName}"}
	RouteDeleteThingGroup          = Route{http.MethodDelete, "/thing-groups/{thingGroupName}"}
	RouteAddThingToThingGroup      = Route{http.MethodPut, "/thing-groups/addThingToThingGroup"}
	RouteRemoveThingFromThingGroup = Route{http.MethodPut, "/thing-groups/removeThingFromThingGroup"}
	RouteListThingsInThingGroup    = Route{http.MethodGet, "/thing-groups/{thingGroupName}/things"}
	RouteUpdateEventConfigurations = Route{http.MethodPatch, "/event-configurations"}
	RouteDescribeEventConfigs      = Route{http.MethodGet, "/event-configurations"}
)

// ThingGroupARN is the ARN of a thing group of the emulator's account.
func ThingGroupARN(group string) string { return arnPrefix + "thinggroup/" + group }

// MaxGroupsPerThing is how many thing groups a thing may belong to.
const MaxGroupsPerThing = 10

// ValidateThingGroupName checks a thing group name as the API model does:
// 1 to 128 of [a-zA-Z0-9:_-]. (A loop, not a regexp: a package-level
// regexp costs every start of the binary, the CLI's included.)
func ValidateThingGroupName(name string) error {
	ok := len(name) >= 1 && len(name) <= 128
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == ':' || c == '_' || c == '-'
	}
	if !ok {
		return Errorf(InvalidRequest, "thing group name %q must be 1 to 128 of a-z, A-Z, 0-9, ':', '_' and '-'", name)
	}
	return nil
}

// AttributePayload is a thing's or group's attributes as CreateThing takes
// them.
type AttributePayload struct {
	Attributes map[string]string `json:"attributes,omitempty"`
	Merge      bool              `json:"merge,omitempty"`
}

// Map is the attributes, nil when there are none (p nil included), so
// that none given and none stored compare equal.
func (p *AttributePayload) Map() map[string]string {
	if p == nil || len(p.Attributes) == 0 {
		return nil
	}
	return p.Attributes
}

// CreateThingInput is CreateThing's: POST /things/{thingName}.
type CreateThingInput struct {
	ThingName        string            `json:"-"`
	ThingTypeName    string            `json:"thingTypeName,omitempty"`
	AttributePayload *AttributePayload `json:"attributePayload,omitempty"`
}

// CreateThingOutput is CreateThing's.
type CreateThingOutput struct {
	ThingName string `json:"thingName"`
	ThingArn  string `json:"thingArn"`
	ThingID   string `json:"thingId"`
}

// Thing is a thing as DescribeThing describes it.
type Thing struct {
	DefaultClientID string            `json:"defaultClientId"`
	ThingName       string            `json:"thingName"`
	ThingID         string            `json:"thingId"`
	ThingArn        string            `json:"thingArn"`
	ThingTypeName   string            `json:"thingTypeName,omitempty"`
	Attributes      map[string]string `json:"attributes"`
	Version         int64             `json:"version"`
}

// ThingAttribute is a thing as ListThings lists it.
type ThingAttribute struct {
	ThingName     string            `json:"thingName"`
	ThingTypeName string            `json:"thingTypeName,omitempty"`
	ThingArn      string            `json:"thingArn"`
	Attributes    map[string]string `json:"attributes"`
	Version       int64             `json:"version"`
}

// ListThingsInput pages ListThings: GET /things, in the query.
type ListThingsInput struct {
	MaxResults int
	NextToken  string
}

// ListThingsOutput is one page of things, by name.
type ListThingsOutput struct {
	Things    []ThingAttribute `json:"things"`
	NextToken string           `json:"nextToken,omitempty"`
}

// DeleteThingInput is DeleteThing's: DELETE /things/{thingName}?expectedVersion=.
type DeleteThingInput struct {
	ThingName       string
	ExpectedVersion *int64
}

// CreateThingGroupInput is CreateThingGroup's: POST /thing-groups/{thingGroupName}.
type CreateThingGroupInput struct {
	ThingGroupName       string                `json:"-"`
	ThingGroupProperties *ThingGroupProperties `json:"thingGroupProperties,omitempty"`
}

// ThingGroupProperties are a group's description and attributes.
type ThingGroupProperties struct {
	ThingGroupDescription string            `json:"thingGroupDescription,omitempty"`
	AttributePayload      *AttributePayload `json:"attributePayload,omitempty"`
}

// CreateThingGroupOutput is CreateThingGroup's.
type CreateThingGroupOutput struct {
	ThingGroupName string `json:"thingGroupName"`
	ThingGroupArn  string `json:"thingGroupArn"`
	ThingGroupID   string `json:"thingGroupId"`
}

// ThingGroup is a group as DescribeThingGroup describes it.
type ThingGroup struct {
	ThingGroupName       string               `json:"thingGroupName"`
	ThingGroupID         string               `json:"thingGroupId"`
	ThingGroupArn        string               `json:"thingGroupArn"`
	Version              int64                `json:"version"`
	ThingGroupProperties ThingGroupProperties `json:"thingGroupProperties"`
	ThingGroupMetadata   ThingGroupMetadata   `json:"thingGroupMetadata"`
	Status               string               `json:"status"`
}

// ListThingGroupsInput pages ListThingGroups: GET /thing-groups, in the
// query (namePrefixFilter: the groups whose name starts with it).
type ListThingGroupsInput struct {
	MaxResults       int
	NextToken        string
	NamePrefixFilter string
}

// ListThingGroupsOutput is one page of groups, by name.
type ListThingGroupsOutput struct {
	ThingGroups []GroupNameAndArn `json:"thingGroups"`
	NextToken   string            `json:"nextToken,omitempty"`
}

// GroupNameAndArn is a group as ListThingGroups lists it.
type GroupNameAndArn struct {
	GroupName string `json:"groupName"`
	GroupArn  string `json:"groupArn"`
}

// ThingGroupMetadata is when the group was created.
type ThingGroupMetadata struct {
	CreationDate EpochSeconds `json:"creationDate,omitzero"`
}

// DeleteThingGroupInput is DeleteThingGroup's: DELETE
// /thing-groups/{thingGroupName}?expectedVersion=.
type DeleteThingGroupInput struct {
	ThingGroupName  string
	ExpectedVersion *int64
}

// ThingGroupMembershipInput is the body of AddThingToThingGroup and
// RemoveThingFromThingGroup: each side by name or by ARN.
type ThingGroupMembershipInput struct {
	ThingGroupName string `json:"thingGroupName,omitempty"`
	ThingGroupArn  string `json:"thingGroupArn,omitempty"`
	ThingName      string `json:"thingName,omitempty"`
	ThingArn       string `json:"thingArn,omitempty"`
}

// Names resolves the group and the thing, by name or ARN.
func (in ThingGroupMembershipInput) Names() (group, thing string, err error) {
	group, thing = in.ThingGroupName, in.ThingName
	if group == "" && in.ThingGroupArn != "" {
		var ok bool
		if group, ok = nameOfARN(in.ThingGroupArn, "thinggroup/"); !ok {
			return "", "", Errorf(InvalidRequest, "thingGroupArn %s is not a thing group ARN", in.ThingGroupArn)
		}
	}
	if thing == "" && in.ThingArn != "" {
		var ok bool
		if thing, ok = nameOfARN(in.ThingArn, "thing/"); !ok {
			return "", "", Errorf(InvalidRequest, "thingArn %s is not a thing ARN", in.ThingArn)
		}
	}
	if group == "" || thing == "" {
		return "", "", Errorf(InvalidRequest, "name the thing group (thingGroupName or thingGroupArn) and the thing (thingName or thingArn)")
	}
	return group, thing, nil
}

// ListThingsInThingGroupInput pages ListThingsInThingGroup: GET
// /thing-groups/{thingGroupName}/things.
type ListThingsInThingGroupInput struct {
	ThingGroupName string
	MaxResults     int
	NextToken      string
}

// ListThingsInThingGroupOutput is one page of thing names, by name.
type ListThingsInThingGroupOutput struct {
	Things    []string `json:"things"`
	NextToken string   `json:"nextToken,omitempty"`
}

// The event types of UpdateEventConfigurations the emulator publishes.
const (
	EventTypeJob          = "JOB"
	EventTypeJobExecution = "JOB_EXECUTION"
)

// EventConfiguration enables one event type.
type EventConfiguration struct {
	Enabled bool `json:"Enabled"`
}

// UpdateEventConfigurationsInput is UpdateEventConfigurations': PATCH
// /event-configurations. Event types other than JOB and JOB_EXECUTION are
// accepted and kept, but nothing publishes them.
type UpdateEventConfigurationsInput struct {
	EventConfigurations map[string]EventConfiguration `json:"eventConfigurations"`
}

// DescribeEventConfigurationsOutput is DescribeEventConfigurations'.
type DescribeEventConfigurationsOutput struct {
	EventConfigurations map[string]EventConfiguration `json:"eventConfigurations"`
	CreationDate        EpochSeconds                  `json:"creationDate,omitzero"`
	LastModifiedDate    EpochSeconds                  `json:"lastModifiedDate,omitzero"`
}
