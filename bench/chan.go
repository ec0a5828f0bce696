// SPDX-License-Identifier: MIT
// chan: Go's side of bench_chan, on one P (GOMAXPROCS=1, as libgreen runs on one thread):
// a producer and a consumer goroutine over a buffered channel of capacity 1 and 128 (ns per
// item), and ping-pong over two unbuffered channels (ns per round trip). Prints RESULT lines.
//
// -procs 2 (scripts/bench's multicore section) runs the ping-pong alone with GOMAXPROCS=2: the
// reference for libgreen's cross-hub hand-off (bench_hubs).
//
// usage: go run chan.go [-n items] [-r rounds] [-t max_seconds] [-procs n]
package main

import (
	"flag"
	"fmt"
	"runtime"
	"sort"
	"time"
)

func queue(n, capacity int, limit time.Duration) float64 {
	ch := make(chan int, capacity)
	done := make(chan int)
	go func() {
		got := 0
		for range ch {
			got++
		}
		done <- got
	}()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		if i&0xffff == 0 && time.Since(t0) > limit {
			break
		}
		ch <- i
	}
	close(ch)
	got := <-done
	return float64(time.Since(t0).Nanoseconds()) / float64(got)
}

func pingPong(n int, limit time.Duration) float64 {
	a, b := make(chan int), make(chan int)
	go func() {
		for v := range a {
			b <- v
		}
	}()
	t0 := time.Now()
	i := 0
	for ; i < n; i++ {
		if i&0xffff == 0 && time.Since(t0) > limit {
			break
		}
		a <- i
		<-b
	}
	close(a)
	return float64(time.Since(t0).Nanoseconds()) / float64(i)
}

func median(v []float64) float64 {
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func main() {
	n := flag.Int("n", 1000000, "items per run")
	rounds := flag.Int("r", 3, "rounds")
	secs := flag.Float64("t", 5, "max seconds per run")
	procs := flag.Int("procs", 1, "GOMAXPROCS; above 1, the ping-pong alone")
	flag.Parse()
	runtime.GOMAXPROCS(*procs)
	limit := time.Duration(*secs * float64(time.Second))
	if *procs > 1 {
		pingPong(*n/10, limit)
		pp := make([]float64, *rounds)
		for r := 0; r < *rounds; r++ {
			pp[r] = pingPong(*n, limit)
		}
		fmt.Printf("go unbuffered ping-pong, GOMAXPROCS=%d   %8.1f ns (median of %d)\n", *procs, median(pp), *rounds)
		fmt.Printf("RESULT chan_go_procs_ns=%.2f ns\n", median(pp))
		return
	}
	queue(*n/10, 1, limit) // warm up
	pingPong(*n/10, limit)
	q1, q128, pp := make([]float64, *rounds), make([]float64, *rounds), make([]float64, *rounds)
	for r := 0; r < *rounds; r++ {
		q1[r] = queue(*n, 1, limit)
		q128[r] = queue(*n, 128, limit)
		pp[r] = pingPong(*n, limit)
	}
	fmt.Printf("go chan cap 1, send+receive per item   %8.1f ns (median of %d)\n", median(q1), *rounds)
	fmt.Printf("go chan cap 128, send+receive per item %8.1f ns\n", median(q128))
	fmt.Printf("go unbuffered ping-pong per round trip %8.1f ns\n", median(pp))
	fmt.Printf("RESULT queue1_go_ns=%.2f ns\n", median(q1))
	fmt.Printf("RESULT queue128_go_ns=%.2f ns\n", median(q128))
	fmt.Printf("RESULT chan_go_ns=%.2f ns\n", median(pp))
}
