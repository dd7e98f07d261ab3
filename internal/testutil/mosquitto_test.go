package testutil

import (
	"net"
	"testing"
)

func TestMosquittoAcceptsConnectionsAcrossRestarts(t *testing.T) {
	m := StartMosquitto(t)
	for range 2 {
		conn, err := net.Dial("tcp", m.Addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
		m.Restart()
	}
}
