//go:build unix

package main

import (
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/inbox"
)

// TestGatewayKillLoop is issue 17's crash proof (§6), on each durable
// backend: payhook serve forwards a stream of distinct one-shot webhooks to
// an application, and is killed with SIGKILL 20 times while they arrive,
// each time once the application has taken some events since the start.
// Every delivery serve acknowledged is taken by the application in the
// end, and the application is sent an event it already answered 2xx only
// for the forwards in flight at a kill: at most the inbox's workers per
// kill.
func TestGatewayKillLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("20 kills of payhook serve per backend")
	}
	bin := buildPayhook(t)
	for _, b := range gatewayBackends {
		if !b.durable {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			const (
				kills = 20
				// perLife is how many events the app takes in each life
				// of serve before it is killed.
				perLife = 12
				senders = 4
			)
			store, dir := b.store(t), t.TempDir()
			app := newForwardApp(t)

			// life is the number of kills so far; firstTaken the life in
			// which each event was first answered 2xx, and repeats the
			// 2xx-answered events sent again, by the life that took them.
			var (
				mu         sync.Mutex
				life       int
				firstTaken = map[string]int{}
				repeats    = make([]int, kills+1)
			)
			app.script(func(r *http.Request, id string, n int) int {
				mu.Lock()
				defer mu.Unlock()
				if l, ok := firstTaken[id]; ok {
					repeats[l]++
				} else {
					firstTaken[id] = life
				}
				return 0
			})

			// The stream: senders post new orders to the serve of the
			// moment; when it is gone, they wait for the next one.
			var (
				smu    sync.Mutex
				addr   string
				next   = make(chan struct{}) // closed when addr changes
				acked  []string
				seq    int
				stopCh = make(chan struct{})
				wg     sync.WaitGroup
			)
			setAddr := func(a string) {
				smu.Lock()
				defer smu.Unlock()
				addr = a
				close(next)
				next = make(chan struct{})
			}
			for range senders {
				wg.Go(func() {
					for {
						smu.Lock()
						a, changed := addr, next
						seq++
						order := fmt.Sprintf("ord_loop_%05d", seq)
						smu.Unlock()
						select {
						case <-stopCh:
							return
						default:
						}
						if a != "" && deliverOrder(t, a, order) {
							smu.Lock()
							acked = append(acked, order)
							smu.Unlock()
							continue
						}
						select { // that serve is gone: wait for the next
						case <-changed:
						case <-stopCh:
							return
						}
					}
				})
			}

			taken := func() int {
				mu.Lock()
				defer mu.Unlock()
				return len(firstTaken)
			}
			for k := range kills {
				p, _ := startBinary(t, bin, dir, gatewayEnv(app, store)...)
				setAddr(p.addr)
				want := taken() + perLife
				app.waitFor(t, 2*time.Minute, "events taken before the kill", func() bool {
					return len(app.taken) >= want
				})
				setAddr("")
				p.kill(t, "kill %d", k+1)
				mu.Lock()
				life++
				mu.Unlock()
			}
			close(stopCh)
			setAddr("")
			wg.Wait()

			last, _ := startBinary(t, bin, dir, gatewayEnv(app, store)...)
			app.waitTaken(t, 4*time.Minute, acked)
			require.Nil(t, last.stop(t, syscall.SIGTERM), "a graceful shutdown")

			// The attempts abandoned at the last kills are taken back only
			// after their lease (asynq's: a minute or two), when the test
			// has ended: an entry not done whose event the app took will
			// be forwarded again, so it counts now.
			mu.Lock()
			defer mu.Unlock()
			var later int
			for id, e := range listInbox(t, bin, store, "--limit", "1000000") {
				if l, taken := firstTaken[id]; taken && e.State != "done" {
					repeats[l]++
					later++
				}
			}
			total, most := 0, 0
			for _, n := range repeats {
				total += n
				most = max(most, n)
			}
			t.Logf("%s: %d deliveries acknowledged over %d kills, %d events taken; events taken again: %d in all (%d of them due after the test), at most %d for one kill (%v)",
				b.name, len(acked), kills, len(firstTaken), total, later, most, repeats)
			require.NotEmpty(t, acked)
			for k, n := range repeats {
				assert.LessOrEqual(t, n, inbox.DefaultWorkers, "events taken again after kill %d: more than the forwards in flight", k+1)
			}
		})
	}
}
