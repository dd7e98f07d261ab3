// Command delayproxy forwards TCP connections to a target, holding every
// chunk of bytes back for a fixed delay in each direction, in order: a
// link with that much latency, for measuring round trips on loopback.
//
//	go run ./bench/delayproxy -listen 127.0.0.1:0 -target 127.0.0.1:1883 -delay 25ms
//
// It prints its address on the first line of stdout.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	target := flag.String("target", "", "address to forward to")
	delay := flag.Duration("delay", 25*time.Millisecond, "delay added in each direction")
	flag.Parse()
	if *target == "" {
		fmt.Fprintln(os.Stderr, "delayproxy: -target is required")
		os.Exit(2)
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(l.Addr())
	for {
		c, err := l.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serve(c, *target, *delay)
	}
}

func serve(client net.Conn, target string, delay time.Duration) {
	defer client.Close()
	time.Sleep(delay) // the SYN's way there
	server, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer server.Close()
	time.Sleep(delay) // the SYN-ACK's way back
	done := make(chan struct{}, 2)
	go func() { pipe(server, client, delay); done <- struct{}{} }()
	go func() { pipe(client, server, delay); done <- struct{}{} }()
	<-done
}

type chunk struct {
	data []byte
	due  time.Time
}

// pipe copies src to dst, each chunk delay after it was read.
func pipe(dst io.WriteCloser, src io.Reader, delay time.Duration) {
	defer dst.Close()
	chunks := make(chan chunk, 1024)
	go func() {
		defer close(chunks)
		for {
			buf := make([]byte, 32*1024)
			n, err := src.Read(buf)
			if n > 0 {
				chunks <- chunk{data: buf[:n], due: time.Now().Add(delay)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range chunks {
		time.Sleep(time.Until(c.due))
		if _, err := dst.Write(c.data); err != nil {
			return
		}
	}
}
