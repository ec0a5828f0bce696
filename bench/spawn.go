// SPDX-License-Identifier: MIT
// spawn: ns per goroutine start + completion, batched with sync.WaitGroup the way
// bench_spawn batches green_spawn + green_joinall. Prints RESULT spawn_go_ns=... ns.
//
// usage: go run spawn.go [-n goroutines] [-b batch] [-r rounds] [-t max_seconds]
package main

import (
	"flag"
	"fmt"
	"sort"
	"sync"
	"time"
)

func run(n, batch int, limit time.Duration) float64 {
	var wg sync.WaitGroup
	done := 0
	t0 := time.Now()
	for done < n && time.Since(t0) < limit {
		wg.Add(batch)
		for i := 0; i < batch; i++ {
			go func() { wg.Done() }()
		}
		wg.Wait()
		done += batch
	}
	return float64(time.Since(t0).Nanoseconds()) / float64(done)
}

func main() {
	n := flag.Int("n", 1000000, "goroutines per round")
	batch := flag.Int("b", 1000, "batch size")
	rounds := flag.Int("r", 5, "rounds")
	secs := flag.Float64("t", 10, "max seconds per round")
	flag.Parse()
	limit := time.Duration(*secs * float64(time.Second))
	run(*batch*10, *batch, limit) // warm up
	res := make([]float64, *rounds)
	for r := range res {
		res[r] = run(*n, *batch, limit)
		fmt.Printf("  round %d: goroutine spawn+wait %.1f ns\n", r+1, res[r])
	}
	sort.Float64s(res)
	m := res[len(res)/2]
	if len(res)%2 == 0 {
		m = (res[len(res)/2-1] + res[len(res)/2]) / 2
	}
	fmt.Printf("goroutine spawn + WaitGroup: %.1f ns (median)\n", m)
	fmt.Printf("RESULT spawn_go_ns=%.1f ns\n", m)
}
