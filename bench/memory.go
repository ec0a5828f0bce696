// SPDX-License-Identifier: MIT
// memory: Go's side of bench_memory. n goroutines park in a read on the read end of one empty
// os.Pipe (-k read, the default) or in a receive on one channel (-k chan). os.Pipe's fds are
// non-blocking and in the netpoller, so a read parks the goroutine, not an OS thread: one
// reader waits in the poller, the others on the file's read lock. The Threads line shows it.
// After -s seconds parked it reads VmRSS and reports (after - before) / n, then closes the
// pipe (or the channel) and times until every goroutine has ended.
//
// usage: go run memory.go [-n goroutines] [-k read|chan] [-s park_seconds] [-t max_seconds]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// status returns a field of /proc/self/status in its own unit (kB for VmRSS), or -1.
func status(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, field+":") {
			n, _ := strconv.ParseInt(strings.Fields(line[len(field)+1:])[0], 10, 64)
			return n
		}
	}
	return -1
}

func main() {
	n := flag.Int("n", 100000, "goroutines")
	kind := flag.String("k", "read", "park in: read (one pipe) or chan (one channel)")
	park := flag.Float64("s", 5, "seconds parked before the RSS sample")
	secs := flag.Float64("t", 120, "max seconds")
	flag.Parse()
	if *kind != "read" && *kind != "chan" {
		fmt.Fprintln(os.Stderr, "memory.go: -k read or -k chan")
		os.Exit(2)
	}
	deadline := time.Now().Add(time.Duration(*secs * float64(time.Second)))
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pipe:", err)
		os.Exit(1)
	}
	ch := make(chan byte)
	var started int64
	var wg sync.WaitGroup
	idle := func() {
		defer wg.Done()
		atomic.AddInt64(&started, 1)
		if *kind == "read" {
			var b [1]byte
			r.Read(b[:]) // ends with EOF once w is closed
		} else {
			<-ch
		}
	}
	runtime.GC()
	before := status("VmRSS")
	t0 := time.Now()
	wg.Add(*n)
	for i := 0; i < *n; i++ {
		go idle()
	}
	for atomic.LoadInt64(&started) < int64(*n) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	t1 := time.Now()
	if d := time.Duration(*park * float64(time.Second)); d < time.Until(deadline) {
		time.Sleep(d)
	} else if left := time.Until(deadline); left > 0 {
		time.Sleep(left)
	}
	after := status("VmRSS")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	per := float64(after-before) / float64(*n)
	fmt.Printf("memory: %d of %d goroutines parked in %s after %.2f s (%s, GOMAXPROCS %d)\n",
		started, *n, map[string]string{"read": "a read on one pipe", "chan": "a channel receive"}[*kind],
		t1.Sub(t0).Seconds(), runtime.Version(), runtime.GOMAXPROCS(0))
	fmt.Printf("  VmRSS before %d KiB, %.1f s later %d KiB; %d OS threads; stacks in use %d KiB\n",
		before, *park, after, status("Threads"), ms.StackInuse/1024)
	fmt.Printf("RSS per idle goroutine: %.2f KiB\n", per)

	t2 := time.Now()
	w.Close()
	close(ch)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Until(deadline) + 10*time.Second):
		fmt.Fprintln(os.Stderr, "memory.go: the goroutines did not end in time")
		os.Exit(1)
	}
	wake := float64(time.Since(t2).Nanoseconds()) / float64(*n)
	fmt.Printf("  woke each once (close, wait): %.1f ns per goroutine\n", wake)
	fmt.Printf("RESULT memory_go_kib=%.2f KiB\n", per)
	fmt.Printf("RESULT memory_go_spawn_ns=%.1f ns\n", float64(t1.Sub(t0).Nanoseconds())/float64(*n))
	fmt.Printf("RESULT memory_go_wake_ns=%.1f ns\n", wake)
	r.Close()
}
