package testutil

import (
	"net"
	"testing"
)

func TestStartMosquittoAcceptsConnections(t *testing.T) {
	addr := StartMosquitto(t)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
}
