// Package versioncmd is `iotjobs version`: the build information stamped
// into the binary.
package versioncmd
