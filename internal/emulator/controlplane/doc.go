// Package controlplane serves the engine's control-plane operations over
// HTTP: the AWS IoT control-plane REST protocol (restJson1) for the jobs
// operations, with the routes, query parameters, member names and error
// shapes of the AWS SDK for Go v2 service/iot (as internal/iotapi defines
// them), so that any AWS SDK or the AWS CLI pointed at it with an endpoint
// override works unchanged. It reads each request into the operation's
// input and sends the engine's output or error as they are. Choices where
// the model leaves room are documented in docs/emulator.md:
//   - timestamps are epoch seconds as JSON numbers with millisecond
//     precision, as the live service sends them;
//   - unset fields are omitted; forceCanceled is sent only on CANCELED jobs
//     and executions;
//   - every job is a SNAPSHOT job; features the emulator lacks (thing
//     groups, CONTINUOUS jobs, templates, rollouts, aborts, retries,
//     scheduling, namespaces, tags, ...) are refused with
//     InvalidRequestException naming the field, never silently dropped;
//   - fields and query parameters the model does not know are ignored, as
//     AWS does.
package controlplane
