// Package emulatorcmd is `iotjobs emulator`, which runs the embedded Jobs
// service, its control-plane verbs (create-job, describe-job, list-jobs,
// cancel-job, delete-job, list-executions, describe-execution,
// cancel-execution, delete-execution), thin HTTP clients of a running
// emulator, and `iotjobs demo`. One file per command; control.go holds
// what the verbs share.
package emulatorcmd
