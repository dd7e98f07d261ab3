package engine

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/iotjobs/iotjobs/internal/emulator/store"
	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// The registry: things, thing groups and their members (the event
// configurations are in eventconfig.go). Jobs that target thing names need no registered thing;
// a group target needs the group. Groups are flat: no parents, no dynamic
// groups.

// loadRegistry fills the registry from the store.
func (e *Engine) loadRegistry() error {
	return e.store.LoadRegistry(func(r store.GroupRecord) error {
		e.groups[r.Name] = &r
		e.members[r.Name] = map[string]bool{}
		return nil
	}, func(r store.ThingRecord) error {
		e.regThings[r.Name] = &r
		for _, g := range r.Groups {
			if e.members[g] != nil {
				e.members[g][r.Name] = true
			}
		}
		return nil
	})
}

// applyRegistryLocked applies m's registry records; stateMu is held for
// writing.
func (e *Engine) applyRegistryLocked(m *mutation) {
	for _, r := range m.groups {
		e.groups[r.Name] = r
		if e.members[r.Name] == nil {
			e.members[r.Name] = map[string]bool{}
		}
	}
	for _, r := range m.things {
		if old := e.regThings[r.Name]; old != nil {
			for _, g := range old.Groups {
				delete(e.members[g], r.Name)
			}
		}
		e.regThings[r.Name] = r
		for _, g := range r.Groups {
			if e.members[g] != nil {
				e.members[g][r.Name] = true
			}
		}
	}
	for _, name := range m.deleteThings {
		if old := e.regThings[name]; old != nil {
			for _, g := range old.Groups {
				delete(e.members[g], name)
			}
		}
		delete(e.regThings, name)
	}
	for _, name := range m.deleteGroups {
		delete(e.groups, name)
		delete(e.members, name)
	}
}

// membersLocked are the group's things by name; stateMu is held.
func (e *Engine) membersLocked(group string) []string {
	return slices.Sorted(maps.Keys(e.members[group]))
}

func validThing(name string) error {
	if err := jobs.ValidateThingName(name); err != nil {
		return invalidRequest("%v", err)
	}
	return nil
}

// CreateThing registers a thing; creating it again with the same type and
// attributes returns it, with others is ResourceAlreadyExists.
func (e *Engine) CreateThing(in iotapi.CreateThingInput) (iotapi.CreateThingOutput, error) {
	if err := validThing(in.ThingName); err != nil {
		return iotapi.CreateThingOutput{}, err
	}
	attrs := in.AttributePayload.Map()
	var r *store.ThingRecord
	err := e.controlPlan(func(time.Time) (*mutation, error) {
		if r = e.regThings[in.ThingName]; r != nil {
			if r.TypeName != in.ThingTypeName || !maps.Equal(r.Attributes, attrs) {
				return nil, &iotapi.ServiceError{Kind: iotapi.ResourceAlreadyExists, Message: "Thing " + in.ThingName + " already exists with a different type or attributes"}
			}
			return nil, nil
		}
		r = &store.ThingRecord{Name: in.ThingName, ID: uuid.NewString(), TypeName: in.ThingTypeName, Attributes: attrs, Version: 1}
		return &mutation{things: []*store.ThingRecord{r}}, nil
	})
	if err != nil {
		return iotapi.CreateThingOutput{}, err
	}
	return iotapi.CreateThingOutput{ThingName: r.Name, ThingArn: iotapi.ThingARN(r.Name), ThingID: r.ID}, nil
}

// DescribeThing returns a registered thing.
func (e *Engine) DescribeThing(name string) (iotapi.Thing, error) {
	e.stateMu.RLock()
	defer e.stateMu.RUnlock()
	r := e.regThings[name]
	if r == nil {
		return iotapi.Thing{}, notFound("No thing named %s", name)
	}
	return iotapi.Thing{
		DefaultClientID: r.Name, ThingName: r.Name, ThingID: r.ID, ThingArn: iotapi.ThingARN(r.Name),
		ThingTypeName: r.TypeName, Attributes: attributes(r.Attributes), Version: r.Version,
	}, nil
}

// attributes is never nil: the API returns {} for none.
func attributes(a map[string]string) map[string]string {
	if a == nil {
		return map[string]string{}
	}
	return maps.Clone(a)
}

// pageNames pages sorted names after the token (the last name listed).
func pageNames(names []string, maxResults int, token string) (page []string, next string, err error) {
	limit, err := pageSize(maxResults)
	if err != nil {
		return nil, "", err
	}
	start := sort.SearchStrings(names, token)
	if start < len(names) && names[start] == token {
		start++
	}
	page = names[start:min(len(names), start+limit)]
	if start+limit < len(names) {
		next = page[len(page)-1]
	}
	return page, next, nil
}

// ListThings lists the registered things by name.
func (e *Engine) ListThings(in iotapi.ListThingsInput) (iotapi.ListThingsOutput, error) {
	e.stateMu.RLock()
	defer e.stateMu.RUnlock()
	page, next, err := pageNames(slices.Sorted(maps.Keys(e.regThings)), in.MaxResults, in.NextToken)
	if err != nil {
		return iotapi.ListThingsOutput{}, err
	}
	out := iotapi.ListThingsOutput{Things: make([]iotapi.ThingAttribute, len(page)), NextToken: next}
	for i, name := range page {
		r := e.regThings[name]
		out.Things[i] = iotapi.ThingAttribute{ThingName: r.Name, ThingTypeName: r.TypeName, ThingArn: iotapi.ThingARN(r.Name), Attributes: attributes(r.Attributes), Version: r.Version}
	}
	return out, nil
}

// versionConflict refuses a change that expected another version.
func versionConflict(expected *int64, version int64) error {
	if expected != nil && *expected != version {
		return &iotapi.ServiceError{Kind: iotapi.VersionConflict, Message: "expectedVersion does not match the current version"}
	}
	return nil
}

// DeleteThing removes a thing from its groups (which ends its executions
// of continuous jobs as REMOVED) and from the registry. A thing that does
// not exist is deleted already, as AWS answers.
func (e *Engine) DeleteThing(in iotapi.DeleteThingInput) error {
	if err := validThing(in.ThingName); err != nil {
		return err
	}
	return e.controlPlan(func(now time.Time) (*mutation, error) {
		r := e.regThings[in.ThingName]
		if r == nil {
			return nil, nil
		}
		if err := versionConflict(in.ExpectedVersion, r.Version); err != nil {
			return nil, err
		}
		m := &mutation{deleteThings: []string{r.Name}}
		e.leaveLocked(r.Name, r.Groups, nil, now, m)
		return m, nil
	})
}

// CreateThingGroup creates a thing group; creating it again with the same
// properties returns it, with others is ResourceAlreadyExists.
func (e *Engine) CreateThingGroup(in iotapi.CreateThingGroupInput) (iotapi.CreateThingGroupOutput, error) {
	if err := iotapi.ValidateThingGroupName(in.ThingGroupName); err != nil {
		return iotapi.CreateThingGroupOutput{}, err
	}
	var description string
	var attrs map[string]string
	if p := in.ThingGroupProperties; p != nil {
		description, attrs = p.ThingGroupDescription, p.AttributePayload.Map()
	}
	var r *store.GroupRecord
	err := e.controlPlan(func(now time.Time) (*mutation, error) {
		if r = e.groups[in.ThingGroupName]; r != nil {
			if r.Description != description || !maps.Equal(r.Attributes, attrs) {
				return nil, &iotapi.ServiceError{Kind: iotapi.ResourceAlreadyExists, Message: "Thing group " + in.ThingGroupName + " already exists with different properties"}
			}
			return nil, nil
		}
		r = &store.GroupRecord{Name: in.ThingGroupName, ID: uuid.NewString(), Description: description, Attributes: attrs, Version: 1, CreatedAt: now.UnixNano()}
		return &mutation{groups: []*store.GroupRecord{r}}, nil
	})
	if err != nil {
		return iotapi.CreateThingGroupOutput{}, err
	}
	return iotapi.CreateThingGroupOutput{ThingGroupName: r.Name, ThingGroupArn: iotapi.ThingGroupARN(r.Name), ThingGroupID: r.ID}, nil
}

// DescribeThingGroup returns a thing group.
func (e *Engine) DescribeThingGroup(name string) (iotapi.ThingGroup, error) {
	e.stateMu.RLock()
	defer e.stateMu.RUnlock()
	r := e.groups[name]
	if r == nil {
		return iotapi.ThingGroup{}, notFound("No thing group named %s", name)
	}
	out := iotapi.ThingGroup{
		ThingGroupName: r.Name, ThingGroupID: r.ID, ThingGroupArn: iotapi.ThingGroupARN(r.Name), Version: r.Version,
		ThingGroupProperties: iotapi.ThingGroupProperties{ThingGroupDescription: r.Description},
		ThingGroupMetadata:   iotapi.ThingGroupMetadata{CreationDate: timeOf(r.CreatedAt)},
		Status:               "ACTIVE",
	}
	if len(r.Attributes) > 0 {
		out.ThingGroupProperties.AttributePayload = &iotapi.AttributePayload{Attributes: maps.Clone(r.Attributes)}
	}
	return out, nil
}

// ListThingGroups lists the groups by name, those whose name starts with
// in.NamePrefixFilter when it is set.
func (e *Engine) ListThingGroups(in iotapi.ListThingGroupsInput) (iotapi.ListThingGroupsOutput, error) {
	e.stateMu.RLock()
	defer e.stateMu.RUnlock()
	names := slices.Sorted(maps.Keys(e.groups))
	if in.NamePrefixFilter != "" {
		names = slices.DeleteFunc(names, func(name string) bool { return !strings.HasPrefix(name, in.NamePrefixFilter) })
	}
	page, next, err := pageNames(names, in.MaxResults, in.NextToken)
	if err != nil {
		return iotapi.ListThingGroupsOutput{}, err
	}
	out := iotapi.ListThingGroupsOutput{ThingGroups: make([]iotapi.GroupNameAndArn, len(page)), NextToken: next}
	for i, name := range page {
		out.ThingGroups[i] = iotapi.GroupNameAndArn{GroupName: name, GroupArn: iotapi.ThingGroupARN(name)}
	}
	return out, nil
}

// DeleteThingGroup removes every member from the group, as
// RemoveThingFromThingGroup does, then deletes it. A group that does not
// exist is deleted already.
func (e *Engine) DeleteThingGroup(in iotapi.DeleteThingGroupInput) error {
	if err := iotapi.ValidateThingGroupName(in.ThingGroupName); err != nil {
		return err
	}
	return e.controlPlan(func(now time.Time) (*mutation, error) {
		r := e.groups[in.ThingGroupName]
		if r == nil {
			return nil, nil
		}
		if err := versionConflict(in.ExpectedVersion, r.Version); err != nil {
			return nil, err
		}
		m := &mutation{deleteGroups: []string{r.Name}}
		recs := map[string]*store.JobRecord{}
		for _, thing := range e.membersLocked(r.Name) {
			next := *e.regThings[thing]
			next.Groups = without(next.Groups, r.Name)
			m.things = append(m.things, &next)
			e.leaveLocked(thing, []string{r.Name}, recs, now, m)
		}
		return m, nil
	})
}

// membership checks the names of a membership change and finds the
// thing's record; stateMu is held.
func (e *Engine) membershipLocked(group, thing string) (*store.ThingRecord, error) {
	switch {
	case e.groups[group] == nil:
		return nil, notFound("No thing group named %s", group)
	case e.regThings[thing] == nil:
		return nil, notFound("No thing named %s: a thing joins a group once registered (CreateThing)", thing)
	}
	return e.regThings[thing], nil
}

func validMembership(group, thing string) error {
	if err := iotapi.ValidateThingGroupName(group); err != nil {
		return err
	}
	return validThing(thing)
}

// AddThingToThingGroup adds a registered thing to a group; each continuous
// job that targets the group queues an execution for it, as its rollout
// allows, unless the thing already has one that was not REMOVED.
func (e *Engine) AddThingToThingGroup(group, thing string) error {
	if err := validMembership(group, thing); err != nil {
		return err
	}
	return e.controlPlan(func(now time.Time) (*mutation, error) {
		r, err := e.membershipLocked(group, thing)
		switch {
		case err != nil:
			return nil, err
		case slices.Contains(r.Groups, group):
			return nil, nil
		case len(r.Groups) >= iotapi.MaxGroupsPerThing:
			return nil, invalidRequest("Thing %s is in %d thing groups already, the limit", thing, iotapi.MaxGroupsPerThing)
		}
		next := *r
		next.Groups = append(slices.Clip(r.Groups), group)
		m := &mutation{things: []*store.ThingRecord{&next}}
		recs := map[string]*store.JobRecord{}
		for _, j := range e.jobList {
			if j.continuous() && !j.Canceled && slices.Contains(j.Groups, group) && e.joinsLocked(j, thing) {
				rec := jobRecord(j, recs, m)
				rec.Waiting = append(slices.Clip(rec.Waiting), thing)
				e.releaseLocked(rec, j.things[jobs.StatusSucceeded], false, now, m)
			}
		}
		return m, nil
	})
}

// joinsLocked reports whether a thing joining a group of the continuous
// job j gets a new execution: when it has none pending or waiting, and its
// latest was REMOVED (or it has none). stateMu is held.
func (e *Engine) joinsLocked(j *job, thing string) bool {
	if slices.Contains(j.Waiting, thing) {
		return false
	}
	x := e.lookup(thing, j.ID, nil)
	return x == nil || x.Status == jobs.StatusRemoved
}

// jobRecord is the record of j that m writes, copied on first use.
func jobRecord(j *job, recs map[string]*store.JobRecord, m *mutation) *store.JobRecord {
	if rec := recs[j.ID]; rec != nil {
		return rec
	}
	rec := j.JobRecord
	recs[j.ID] = &rec
	m.jobs = append(m.jobs, &rec)
	return &rec
}

// RemoveThingFromThingGroup removes a thing from a group. The continuous
// jobs that reached it only through that group stop waiting for it, and
// its pending execution of each becomes REMOVED.
func (e *Engine) RemoveThingFromThingGroup(group, thing string) error {
	if err := validMembership(group, thing); err != nil {
		return err
	}
	return e.controlPlan(func(now time.Time) (*mutation, error) {
		r, err := e.membershipLocked(group, thing)
		if err != nil || !slices.Contains(r.Groups, group) {
			return nil, err
		}
		next := *r
		next.Groups = without(r.Groups, group)
		m := &mutation{things: []*store.ThingRecord{&next}}
		e.leaveLocked(thing, []string{group}, nil, now, m)
		return m, nil
	})
}

// leaveLocked is the thing leaving the groups, for the continuous jobs:
// those that no longer reach it (by name or through a group it stays in)
// stop waiting for it, and its pending execution of each becomes REMOVED.
// recs are the job records m writes already, if any. stateMu is held.
func (e *Engine) leaveLocked(thing string, left []string, recs map[string]*store.JobRecord, now time.Time, m *mutation) {
	if recs == nil {
		recs = map[string]*store.JobRecord{}
	}
	var stays []string
	if r := e.regThings[thing]; r != nil && !slices.Contains(m.deleteThings, thing) {
		stays = slices.DeleteFunc(slices.Clone(r.Groups), func(g string) bool { return slices.Contains(left, g) })
	}
	for _, j := range e.jobList {
		if !j.continuous() || j.Canceled || slices.Contains(j.Targets, thing) ||
			!slices.ContainsFunc(j.Groups, func(g string) bool { return slices.Contains(left, g) }) ||
			slices.ContainsFunc(j.Groups, func(g string) bool { return slices.Contains(stays, g) }) {
			continue
		}
		if rec := recs[j.ID]; slices.Contains(j.Waiting, thing) || (rec != nil && slices.Contains(rec.Waiting, thing)) {
			rec = jobRecord(j, recs, m)
			rec.Waiting = without(rec.Waiting, thing)
		}
		if x := e.lookup(thing, j.ID, nil); x != nil && x.Status.Pending() {
			m.execs = append(m.execs, change(removed(x.ExecRecord, now), CauseRemoved))
		}
	}
}

// without is a copy of names without name.
func without(names []string, name string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == name })
}

// removed is r ended by its thing leaving the job's groups.
func removed(r store.ExecRecord, now time.Time) *store.ExecRecord {
	r.Status = jobs.StatusRemoved
	return serviceEnded(r, now)
}

// ListThingsInThingGroup lists a group's members by name.
func (e *Engine) ListThingsInThingGroup(in iotapi.ListThingsInThingGroupInput) (iotapi.ListThingsInThingGroupOutput, error) {
	if err := iotapi.ValidateThingGroupName(in.ThingGroupName); err != nil {
		return iotapi.ListThingsInThingGroupOutput{}, err
	}
	e.stateMu.RLock()
	defer e.stateMu.RUnlock()
	if e.groups[in.ThingGroupName] == nil {
		return iotapi.ListThingsInThingGroupOutput{}, notFound("No thing group named %s", in.ThingGroupName)
	}
	page, next, err := pageNames(e.membersLocked(in.ThingGroupName), in.MaxResults, in.NextToken)
	if err != nil {
		return iotapi.ListThingsInThingGroupOutput{}, err
	}
	return iotapi.ListThingsInThingGroupOutput{Things: slices.Clone(page), NextToken: next}, nil
}
