// Package devicecmd holds the device commands, with which the user acts as
// a thing over the Jobs device MQTT API: get-pending, start-next, describe
// and update (one request and its reply each, through cmdutil.Exchange),
// and watch and wait, which stay connected on a stream that survives drops.
// One file per command; the stream the long-lived two share is in
// notifications.go.
package devicecmd
