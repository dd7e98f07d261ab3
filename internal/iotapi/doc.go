// Package iotapi is the AWS IoT control-plane REST API (restJson1) of the
// jobs operations, as the emulator serves it and the CLI's control-plane
// verbs call it: routes, request and response shapes with their JSON
// member names, epoch-seconds timestamps, job statuses, exceptions, limits,
// ARNs and the checks of values, each defined once for both sides.
//
// An operation's input holds its path and query parameters too, tagged
// json:"-", as the AWS SDK's inputs do; the rest is its JSON body. No HTTP
// serving or calling happens here: the emulator's control plane and the
// CLI's client do that.
package iotapi
