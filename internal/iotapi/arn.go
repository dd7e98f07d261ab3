package iotapi

import (
	"strings"

	"github.com/iotjobs/iotjobs/internal/jobs"
)

// The fake account the emulator's ARNs name.
const (
	Region    = "us-east-1"
	AccountID = "123456789012"
	arnPrefix = "arn:aws:iot:" + Region + ":" + AccountID + ":"
)

// ThingARN is the ARN of a thing of the emulator's account.
func ThingARN(thing string) string { return arnPrefix + "thing/" + thing }

// JobARN is the ARN of a job of the emulator's account.
func JobARN(jobID string) string { return arnPrefix + "job/" + jobID }

// resourceOfARN returns the resource of an AWS IoT ARN of any partition,
// region and account ("thing/NAME"), and whether arn is one.
func resourceOfARN(arn string) (string, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "iot" {
		return "", false
	}
	return parts[5], true
}

// nameOfARN returns the name in an IoT ARN of the kind ("thing/",
// "thinggroup/").
func nameOfARN(arn, kind string) (string, bool) {
	resource, ok := resourceOfARN(arn)
	if !ok {
		return "", false
	}
	name, ok := strings.CutPrefix(resource, kind)
	return name, ok && name != ""
}

// Target is what a CreateJob target names: a thing or a thing group.
type Target struct {
	Thing, Group string
}

// ParseTarget reads a CreateJob target: a thing name, or a thing or thing
// group ARN of any region and account. Anything else is an InvalidRequest
// ServiceError.
func ParseTarget(target string) (Target, error) {
	if !strings.HasPrefix(target, "arn:") {
		if err := jobs.ValidateThingName(target); err != nil {
			return Target{}, Errorf(InvalidRequest, "target %s: %v", target, err)
		}
		return Target{Thing: target}, nil
	}
	if group, ok := nameOfARN(target, "thinggroup/"); ok {
		if err := ValidateThingGroupName(group); err != nil {
			return Target{}, Errorf(InvalidRequest, "target %s: %v", target, err.(*ServiceError).Message)
		}
		return Target{Group: group}, nil
	}
	name, ok := nameOfARN(target, "thing/")
	if !ok {
		return Target{}, Errorf(InvalidRequest, "target %s is neither a thing ARN (arn:aws:iot:REGION:ACCOUNT:thing/NAME) nor a thing group ARN (...:thinggroup/NAME)", target)
	}
	if err := jobs.ValidateThingName(name); err != nil {
		return Target{}, Errorf(InvalidRequest, "target %s: %v", target, err)
	}
	return Target{Thing: name}, nil
}

// ARN is the target as DescribeJob lists it.
func (t Target) ARN() string {
	if t.Group != "" {
		return ThingGroupARN(t.Group)
	}
	return ThingARN(t.Thing)
}

// TargetName shows a job target as people name it: a thing by its name,
// a thing group as "group NAME"; anything else as it is.
func TargetName(arn string) string {
	if group, ok := nameOfARN(arn, "thinggroup/"); ok {
		return "group " + group
	}
	return ThingOfARN(arn)
}

// ThingOfARN shows a thing ARN as the thing name people use; anything else
// is returned as it is.
func ThingOfARN(arn string) string {
	if _, name, ok := strings.Cut(arn, ":thing/"); ok {
		return name
	}
	return arn
}
