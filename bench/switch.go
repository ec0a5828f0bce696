// SPDX-License-Identifier: MIT
// switch: Go's reference for bench_switch's green_yield. Two goroutines call runtime.Gosched
// in turn on one P (GOMAXPROCS=1) while main waits on a channel, so each Gosched hands the P
// to the other: ns per one-way switch, the median of the rounds.
//
// usage: switch_go [-n switches_per_round] [-r rounds]
package main

import (
	"flag"
	"fmt"
	"runtime"
	"sort"
	"time"
)

func main() {
	n := flag.Int("n", 10000000, "one-way switches per round")
	r := flag.Int("r", 5, "rounds")
	flag.Parse()
	runtime.GOMAXPROCS(1)
	var res []float64
	for i := 0; i < *r; i++ {
		done := make(chan bool)
		half := *n / 2
		t0 := time.Now()
		for k := 0; k < 2; k++ {
			go func() {
				for j := 0; j < half; j++ {
					runtime.Gosched()
				}
				done <- true
			}()
		}
		<-done
		<-done
		res = append(res, float64(time.Since(t0).Nanoseconds())/float64(2*half))
	}
	sort.Float64s(res)
	m := res[len(res)/2]
	if len(res)%2 == 0 {
		m = (res[len(res)/2-1] + m) / 2
	}
	fmt.Printf("goroutine Gosched ping-pong: %.2f ns one-way (median of %d)\n", m, *r)
	fmt.Printf("RESULT switch_go_ns=%.2f ns\n", m)
}
