// Package controlplane serves the engine's control-plane operations over
// HTTP: the AWS IoT control-plane REST protocol (restJson1) for the jobs
// operations and the registry's (things, flat thing groups and their
// members, event configurations), with the routes, query parameters, member names and error
// shapes of the AWS SDK for Go v2 service/iot (as internal/iotapi defines
// them), so that any AWS SDK or the AWS CLI pointed at it with an endpoint
// override works unchanged. It reads each request into the operation's
// input and sends the engine's output or error as they are. Choices where
// the model leaves room are documented in docs/emulator.md:
//   - timestamps are epoch seconds as JSON numbers with millisecond
//     precision, as the live service sends them;
//   - unset fields are omitted; forceCanceled is sent only on CANCELED jobs
//     and executions;
//   - the handlers only read requests: the engine checks the members,
//     CreateJob's rollout, abort and retry configurations included;
//   - features the emulator lacks (templates, scheduling, namespaces,
//     tags, parent, dynamic and billing groups, ...) are refused with
//     InvalidRequestException naming the field, never silently dropped;
//   - fields and query parameters the model does not know are ignored, as
//     AWS does.
package controlplane
