// SPDX-License-Identifier: MIT
// echo server in Go: one goroutine per connection, blocking Read + Write on the netpoller.
// The Go reference of scripts/bench's echo sweep, next to bench/echo_green.c. Listens on
// 127.0.0.1, port 0, prints "PORT n" on stdout, and exits by itself after max_seconds.
//
// usage: echo_go [max_seconds]
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

func serve(c net.Conn) {
	defer c.Close()
	if t, ok := c.(*net.TCPConn); ok {
		t.SetNoDelay(true)
	}
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

func main() {
	life := 600.0
	if len(os.Args) > 1 {
		v, err := strconv.ParseFloat(os.Args[1], 64)
		if err != nil || v <= 0 {
			fmt.Fprintln(os.Stderr, "usage: echo_go [max_seconds]")
			os.Exit(2)
		}
		life = v
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	fmt.Printf("PORT %d\n", ln.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()
	time.AfterFunc(time.Duration(life*float64(time.Second)), func() { os.Exit(0) })
	for {
		c, err := ln.Accept()
		if err != nil {
			time.Sleep(10 * time.Millisecond) // EMFILE and the like: back off, then go on
			continue
		}
		go serve(c)
	}
}
