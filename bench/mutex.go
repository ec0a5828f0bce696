// SPDX-License-Identifier: MIT
// mutex: the loops of bench_mutex.c with sync.Mutex on one P (GOMAXPROCS=1): ns per
// Lock + Unlock uncontended, and ns per Lock + Unlock of two goroutines that each lock,
// runtime.Gosched() inside the critical section, and unlock, with the share of those locks
// that changed the owner (Go lets the unlocker barge until a waiter has waited 1 ms).
// Prints RESULT lines for scripts/bench.
//
// usage: go run mutex.go [-n pairs] [-c contended_locks] [-r rounds] [-t max_seconds]
package main

import (
	"flag"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"
)

func uncontended(n int, limit time.Duration) float64 {
	var mu sync.Mutex
	done := 0
	t0 := time.Now()
	for done < n && time.Since(t0) < limit {
		for i := 0; i < 100000; i++ {
			mu.Lock()
			mu.Unlock()
		}
		done += 100000
	}
	return float64(time.Since(t0).Nanoseconds()) / float64(done)
}

func contended(n int, limit time.Duration) (float64, float64) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	left, locks, handoffs, last := n, 0, 0, 0
	t0 := time.Now()
	deadline := t0.Add(limit)
	worker := func(me int) {
		defer wg.Done()
		for {
			mu.Lock()
			if left <= 0 {
				mu.Unlock()
				return
			}
			left--
			locks++
			if last != me {
				handoffs++
			}
			last = me
			if locks&1023 == 0 && time.Now().After(deadline) {
				left = 0
			}
			runtime.Gosched()
			mu.Unlock()
		}
	}
	wg.Add(2)
	go worker(0)
	go worker(1)
	wg.Wait()
	return float64(time.Since(t0).Nanoseconds()) / float64(locks), float64(handoffs) / float64(locks)
}

func median(v []float64) float64 {
	sort.Float64s(v)
	if len(v)%2 == 0 {
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return v[len(v)/2]
}

func main() {
	n := flag.Int("n", 50000000, "uncontended pairs per round")
	c := flag.Int("c", 5000000, "contended locks per round")
	rounds := flag.Int("r", 5, "rounds")
	secs := flag.Float64("t", 10, "max seconds per run")
	flag.Parse()
	runtime.GOMAXPROCS(1)
	limit := time.Duration(*secs * float64(time.Second))
	uncontended(*n/10, limit) // warm up
	contended(*c/10, limit)
	u := make([]float64, *rounds)
	k := make([]float64, *rounds)
	share := 0.0
	for r := range u {
		u[r] = uncontended(*n, limit)
		k[r], share = contended(*c, limit)
		fmt.Printf("  round %d: sync.Mutex Lock+Unlock %.2f ns  contended %.1f ns (%.2f%% hand-offs)\n",
			r+1, u[r], k[r], share*100)
	}
	mu, mk := median(u), median(k)
	fmt.Printf("sync.Mutex (GOMAXPROCS=1): %.2f ns uncontended, %.1f ns contended (medians)\n", mu, mk)
	fmt.Printf("RESULT mutex_go_ns=%.2f ns\n", mu)
	fmt.Printf("RESULT mutex_go_contended_ns=%.1f ns\n", mk)
	fmt.Printf("RESULT mutex_go_handoff_share=%.3f\n", share)
}
