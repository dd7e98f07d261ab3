package engine

import (
	"encoding/json"
	"fmt"
	"maps"

	"github.com/iotjobs/iotjobs/internal/emulator/store"
	"github.com/iotjobs/iotjobs/internal/iotapi"
)

// The event configurations of UpdateEventConfigurations live in the
// store's meta bucket, as one JSON value, and in memory behind an atomic
// pointer: EventsEnabled is asked for every event rendered.

// eventConfigKey is the meta key of the event configurations.
const eventConfigKey = "eventConfigurations"

// eventConfig is what UpdateEventConfigurations set. A value is never
// changed once published: an update stores a new one.
type eventConfig struct {
	Enabled map[string]bool `json:"enabled"`
	// Times are Unix nanoseconds; 0 until the first update.
	CreationDate     int64 `json:"creationDate,omitempty"`
	LastModifiedDate int64 `json:"lastModifiedDate,omitempty"`
}

// loadEventConfig reads the stored event configurations; none stored means
// every type is disabled, as on a new AWS account.
func (e *Engine) loadEventConfig() error {
	data, err := e.store.Meta(eventConfigKey)
	if err != nil {
		return err
	}
	c := &eventConfig{}
	if data != nil {
		if err := json.Unmarshal(data, c); err != nil {
			return fmt.Errorf("the event configurations: %w", err)
		}
	}
	e.events.Store(c)
	return nil
}

// UpdateEventConfigurations enables or disables event types; it is stored.
// The types not named keep their setting.
func (e *Engine) UpdateEventConfigurations(in iotapi.UpdateEventConfigurationsInput) error {
	return e.control(func() error {
		old := e.events.Load()
		now := e.clock.Now().UnixNano()
		next := &eventConfig{Enabled: maps.Clone(old.Enabled), CreationDate: old.CreationDate, LastModifiedDate: now}
		if next.Enabled == nil {
			next.Enabled = map[string]bool{}
		}
		if next.CreationDate == 0 {
			next.CreationDate = now
		}
		for eventType, c := range in.EventConfigurations {
			next.Enabled[eventType] = c.Enabled
		}
		data, _ := json.Marshal(next) // a map of booleans and numbers always encodes
		if err := e.store.Write([]store.Put{store.PutMeta(eventConfigKey, data)}); err != nil {
			e.log.Error("store write failed", "err", err)
			return &iotapi.ServiceError{Kind: iotapi.InternalFailure, Message: "The change could not be stored: " + err.Error()}
		}
		e.events.Store(next)
		return nil
	})
}

// DescribeEventConfigurations returns the event configurations, every
// type the emulator publishes listed.
func (e *Engine) DescribeEventConfigurations() iotapi.DescribeEventConfigurationsOutput {
	c := e.events.Load()
	out := iotapi.DescribeEventConfigurationsOutput{
		EventConfigurations: map[string]iotapi.EventConfiguration{
			iotapi.EventTypeJob:          {},
			iotapi.EventTypeJobExecution: {},
		},
		CreationDate:     timeOf(c.CreationDate),
		LastModifiedDate: timeOf(c.LastModifiedDate),
	}
	for eventType, enabled := range c.Enabled {
		out.EventConfigurations[eventType] = iotapi.EventConfiguration{Enabled: enabled}
	}
	return out
}

// EventsEnabled reports whether events of the type (iotapi.EventTypeJob,
// iotapi.EventTypeJobExecution) are published. Cheap: no lock on the
// writers' path.
func (e *Engine) EventsEnabled(eventType string) bool { return e.events.Load().Enabled[eventType] }
