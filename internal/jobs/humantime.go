package jobs

import "time"

// HumanTime is how iotjobs shows a time to a person, everywhere: tables,
// watch lines, logs and the notes beside the epoch timestamps of pretty
// replies. RFC 3339 in UTC, so that it names its zone and lines up with
// the service's epoch seconds.
func HumanTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
