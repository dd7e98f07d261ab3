// Command iotjobs impersonates an AWS IoT thing and drives the Jobs device
// MQTT API, and embeds an emulator of the Jobs service.
package main

import (
	"os"

	"github.com/iotjobs/iotjobs/internal/app"
)

func main() { os.Exit(app.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
