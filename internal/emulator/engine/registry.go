package engine

import (
	"github.com/iotjobs/iotjobs/internal/iotapi"
)

// The registry: things, thing groups and their members, and the event
// configurations. Jobs that target thing names need no registered thing;
// a group target needs the group.

func notYet() error { return iotapi.Errorf(iotapi.InternalFailure, "not implemented yet") }

// CreateThing registers a thing; creating it again with the same
// attributes returns it, with others is ResourceAlreadyExists.
func (e *Engine) CreateThing(in iotapi.CreateThingInput) (iotapi.CreateThingOutput, error) {
	return iotapi.CreateThingOutput{}, notYet()
}

// DescribeThing returns a registered thing.
func (e *Engine) DescribeThing(name string) (iotapi.Thing, error) { return iotapi.Thing{}, notYet() }

// ListThings lists the registered things by name.
func (e *Engine) ListThings(in iotapi.ListThingsInput) (iotapi.ListThingsOutput, error) {
	return iotapi.ListThingsOutput{}, notYet()
}

// DeleteThing removes a thing from its groups (which ends its executions
// of continuous jobs as REMOVED) and from the registry.
func (e *Engine) DeleteThing(in iotapi.DeleteThingInput) error { return notYet() }

// CreateThingGroup creates a (flat) thing group.
func (e *Engine) CreateThingGroup(in iotapi.CreateThingGroupInput) (iotapi.CreateThingGroupOutput, error) {
	return iotapi.CreateThingGroupOutput{}, notYet()
}

// DescribeThingGroup returns a thing group.
func (e *Engine) DescribeThingGroup(name string) (iotapi.ThingGroup, error) {
	return iotapi.ThingGroup{}, notYet()
}

// DeleteThingGroup removes every member from the group, then deletes it.
func (e *Engine) DeleteThingGroup(in iotapi.DeleteThingGroupInput) error { return notYet() }

// AddThingToThingGroup adds a registered thing to a group; the continuous
// jobs that target the group queue an execution for it.
func (e *Engine) AddThingToThingGroup(group, thing string) error { return notYet() }

// RemoveThingFromThingGroup removes a thing from a group; its pending
// executions of the continuous jobs that reach it only through that group
// become REMOVED.
func (e *Engine) RemoveThingFromThingGroup(group, thing string) error { return notYet() }

// ListThingsInThingGroup lists a group's members by name.
func (e *Engine) ListThingsInThingGroup(in iotapi.ListThingsInThingGroupInput) (iotapi.ListThingsInThingGroupOutput, error) {
	return iotapi.ListThingsInThingGroupOutput{}, notYet()
}

// RolloutState returns the emulator's view of the job's rollout.
func (e *Engine) RolloutState(jobID string) (iotapi.RolloutState, error) {
	return iotapi.RolloutState{}, notYet()
}
