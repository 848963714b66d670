package inbox

import (
	"context"
	"sync"
	"time"
)

// Runner is the skeleton of a [Backend]'s Run loop for backends that take
// entries themselves (the memory and SQLite ones): at most
// RunConfig.Workers attempts at once, each under RunConfig.Timeout, and a
// graceful shutdown that waits RunConfig.ShutdownTimeout for the running
// attempts before it cancels them. A backend's loop reads:
//
//	r := inbox.NewRunner(ctx, cfg, h, finish)
//	for r.Acquire(ctx) {
//		a, ok := take()
//		if !ok {
//			r.Release()
//			wait() // for a change, a due entry, or ctx
//			continue
//		}
//		r.Go(a)
//	}
//	r.Shutdown()
//
// A Runner is used by one Run loop; Go's attempts run on their own
// goroutines.
type Runner struct {
	cfg    RunConfig
	h      Handler
	finish func(a Attempt, err error, canceled bool)
	slots  chan struct{}
	wg     sync.WaitGroup
	runCtx context.Context // the attempts' parent: canceled at the shutdown timeout
	cancel context.CancelFunc
}

// NewRunner returns a Runner for one call of Run with ctx and cfg, that
// runs attempts with h and records each one's end with finish: h's error,
// and canceled when the shutdown canceled the attempt (it should not
// count). The attempts' contexts outlive ctx until [Runner.Shutdown]'s
// timeout.
func NewRunner(ctx context.Context, cfg RunConfig, h Handler, finish func(a Attempt, err error, canceled bool)) *Runner {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &Runner{cfg: cfg, h: h, finish: finish, slots: make(chan struct{}, max(cfg.Workers, 1)), runCtx: runCtx, cancel: cancel}
}

// Acquire waits for a free worker and holds it; it returns false, holding
// none, once ctx is done.
func (r *Runner) Acquire(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	select {
	case r.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// Release gives back a worker held by Acquire and not used.
func (r *Runner) Release() { <-r.slots }

// Go runs attempt a on the worker held by Acquire, under the attempt
// timeout, then records its end. The worker is free again once the end is
// recorded.
func (r *Runner) Go(a Attempt) {
	r.wg.Add(1)
	go r.run(a)
}

func (r *Runner) run(a Attempt) {
	defer r.wg.Done()
	defer r.Release()
	actx, cancel := context.WithTimeout(r.runCtx, r.cfg.Timeout)
	err := r.h(actx, a)
	cancel()
	r.finish(a, err, err != nil && r.runCtx.Err() != nil)
}

// Shutdown waits up to the shutdown timeout for the running attempts, then
// cancels those still running and waits for them to finish.
func (r *Runner) Shutdown() {
	defer r.cancel()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	timer := time.NewTimer(r.cfg.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		r.cancel()
		<-done
	}
}
