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

// ThingNameOfTarget returns the thing a CreateJob target names: a thing
// name, or a thing ARN of any region and account. Anything else is an
// InvalidRequest ServiceError.
func ThingNameOfTarget(target string) (string, error) {
	name := target
	if strings.HasPrefix(target, "arn:") {
		parts := strings.SplitN(target, ":", 6)
		resource, ok := "", len(parts) == 6 && strings.HasPrefix(parts[1], "aws") && parts[2] == "iot"
		if ok {
			resource = parts[5]
		}
		var found bool
		if name, found = strings.CutPrefix(resource, "thing/"); !found {
			if strings.HasPrefix(resource, "thinggroup/") {
				return "", Errorf(InvalidRequest, "target %s: thing groups are not supported by the emulator; list the things", target)
			}
			return "", Errorf(InvalidRequest, "target %s is not a thing ARN (arn:aws:iot:REGION:ACCOUNT:thing/NAME)", target)
		}
	}
	if err := jobs.ValidateThingName(name); err != nil {
		return "", Errorf(InvalidRequest, "target %s: %v", target, err)
	}
	return name, nil
}

// ThingOfARN shows a thing ARN as the thing name people use; anything else
// is returned as it is.
func ThingOfARN(arn string) string {
	if _, name, ok := strings.Cut(arn, ":thing/"); ok {
		return name
	}
	return arn
}
