// Package jobs is the AWS IoT Jobs device MQTT protocol, shared by the device
// commands and the emulator: topic builders and parser, request and response
// payloads, statuses and transition rules, validation and the rejected error
// codes. It performs no I/O and knows nothing of MQTT clients or commands.
//
// The reference is shared/spec/jobs-mqtt-api.md; where that file records a
// project decision (timestamps in epoch seconds, jobDocument as an object,
// unset fields omitted, ...) the types here encode it once.
package jobs
