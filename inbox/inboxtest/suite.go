// Package inboxtest checks an [inbox.Backend] against the contract written
// on that interface, in the manner of testing/slogtest: [Test] returns the
// failures as one error, usable from any test framework, and [Run] runs
// each case as a subtest. Every backend in this repository runs it, and so
// should a backend of your own:
//
//	func TestConformance(t *testing.T) {
//		inboxtest.Run(t, func(t *testing.T) inboxtest.Harness {
//			return inboxtest.Harness{Backend: mybackend.New(freshDatabase(t))}
//		})
//	}
//
// It imports nothing beyond the standard library and package inbox.
package inboxtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payhook/payhook/inbox"
)

// Harness is one backend under test.
type Harness struct {
	// Backend is the backend under test. It must start empty and keep its
	// entries apart from every other harness's (a database, schema, queue
	// or file of its own): a case's Run takes every due entry.
	Backend inbox.Backend
	// Reopen, if set, returns another backend over the same entries, as a
	// second process (or the same one after a restart) would open them.
	// The cases that need it (Put is durable; two runners never run one
	// entry at once across processes) are skipped without it.
	Reopen func() (inbox.Backend, error)
	// Config overrides the RunConfig of the cases, for backends that poll
	// (a Timeout or ShutdownTimeout they need). Zero fields take the
	// defaults: 4 workers, no backoff, a 10 s timeout, a 30 s lease, a 10 s
	// shutdown timeout.
	Config inbox.RunConfig
	// Wait bounds how long a case waits for the backend to run what it
	// expects. Default: 60 s.
	Wait time.Duration
}

type tcase struct {
	name string
	run  func(h *harness) error
}

var cases = []tcase{
	{"PutAddsOnce", putAddsOnce},
	{"PutIsDurable", putIsDurable},
	{"RunMakesDone", runMakesDone},
	{"RetryKeepsErrors", retryKeepsErrors},
	{"DeadAfterMaxAttempts", deadAfterMaxAttempts},
	{"PermanentIsDeadAtOnce", permanentIsDeadAtOnce},
	{"DropDeletes", dropDeletes},
	{"UnconfirmedCounts", unconfirmedCounts},
	{"ReplayAndDiscard", replayAndDiscard},
	{"ListAndStats", listAndStats},
	{"OneRunnerPerEntry", oneRunnerPerEntry},
	{"TimeoutFailsAttempt", timeoutFailsAttempt},
	{"ShutdownLeavesPending", shutdownLeavesPending},
}

// errSkip skips a case whose harness lacks what it needs.
var errSkip = errors.New("skipped")

// Run runs every case as a parallel subtest, each with a harness of its
// own from newHarness.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarnessOf(newHarness(t))
			if err := c.run(h); errors.Is(err, errSkip) {
				t.Skip(err)
			} else if err != nil {
				t.Error(err)
			}
		})
	}
}

// Test runs every case in turn, each with a harness of its own from
// newHarness, and returns their failures joined; nil when the backend
// meets the contract.
func Test(newHarness func() (Harness, error)) error {
	var errs []error
	for _, c := range cases {
		hv, err := newHarness()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: harness: %w", c.name, err))
			continue
		}
		if err := c.run(newHarnessOf(hv)); err != nil && !errors.Is(err, errSkip) {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

// latch is a channel closed once, however often it is opened: a broken
// backend may call a handler more often than the case expects.
type latch struct {
	once sync.Once
	ch   chan struct{}
}

func newLatch() *latch { return &latch{ch: make(chan struct{})} }
func (l *latch) open() { l.once.Do(func() { close(l.ch) }) }

type harness struct {
	Harness
	cfg inbox.RunConfig
}

func newHarnessOf(h Harness) *harness {
	cfg := h.Config
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(int) time.Duration { return 0 }
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if h.Wait <= 0 {
		h.Wait = 60 * time.Second
	}
	return &harness{Harness: h, cfg: cfg}
}

func (h *harness) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), h.Wait)
}

func entry(id string, maxAttempts int) inbox.Entry {
	return inbox.Entry{
		ID:          "test:" + id,
		Provider:    "test",
		Key:         id,
		Event:       []byte(`{"id":"` + id + `","amount":"10.00"}`),
		MaxAttempts: maxAttempts,
		ReceivedAt:  time.Now().UTC().Truncate(time.Millisecond),
	}
}

func (h *harness) put(ctx context.Context, es ...inbox.Entry) error {
	for _, e := range es {
		added, err := h.Backend.Put(ctx, e)
		if err != nil {
			return fmt.Errorf("backend.Put(%s): %w", e.ID, err)
		}
		if !added {
			return fmt.Errorf("backend.Put(%s) of a new ID: added false", e.ID)
		}
	}
	return nil
}

// runUntil runs the backend with hf until stop is closed (or the wait
// ends), then cancels Run and waits for it to return.
func (h *harness) runUntil(b inbox.Backend, hf inbox.Handler, stop *latch) error {
	ctx, cancel := h.ctx()
	defer cancel()
	runCtx, stopRun := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- b.Run(runCtx, hf, h.cfg) }()
	var waitErr error
	select {
	case <-stop.ch:
	case err := <-errc:
		stopRun()
		return fmt.Errorf("backend.Run returned before its context was done: %v", err)
	case <-ctx.Done():
		waitErr = fmt.Errorf("the backend did not run the expected attempts within %s", h.Wait)
	}
	stopRun()
	select {
	case err := <-errc:
		if err != nil {
			return fmt.Errorf("backend.Run: %w", err)
		}
	case <-time.After(h.cfg.ShutdownTimeout + h.Wait):
		return errors.New("backend.Run did not return after its context was done")
	}
	return waitErr
}

func (h *harness) get(id string) (inbox.Info, error) {
	ctx, cancel := h.ctx()
	defer cancel()
	return h.Backend.Get(ctx, id)
}

// expect checks an entry's state and attempts.
func (h *harness) expect(id string, state inbox.State, attempts int) (inbox.Info, error) {
	info, err := h.get(id)
	if err != nil {
		return info, fmt.Errorf("backend.Get(%s): %w", id, err)
	}
	if info.State != state || info.Attempts != attempts {
		return info, fmt.Errorf("%s is %s after %d attempts, want %s after %d (errors: %v)",
			id, info.State, info.Attempts, state, attempts, info.Errors)
	}
	return info, nil
}

func putAddsOnce(h *harness) error {
	ctx, cancel := h.ctx()
	defer cancel()
	e := entry("a", 3)
	if err := h.put(ctx, e); err != nil {
		return err
	}
	again := e
	again.Event = []byte(`{"other":true}`)
	added, err := h.Backend.Put(ctx, again)
	if err != nil || added {
		return fmt.Errorf("second Put of one ID: added %t, err %v; want false, nil", added, err)
	}
	info, err := h.expect(e.ID, inbox.Pending, 0)
	if err != nil {
		return err
	}
	if !bytes.Equal(info.Event, e.Event) || info.Provider != e.Provider || info.Key != e.Key || info.MaxAttempts != 3 {
		return fmt.Errorf("backend.Get returned %+v, want the first Put's entry %+v", info.Entry, e)
	}
	if !info.ReceivedAt.Equal(e.ReceivedAt) {
		return fmt.Errorf("entry.ReceivedAt %v, want %v", info.ReceivedAt, e.ReceivedAt)
	}
	if _, err := h.Backend.Get(ctx, "test:absent"); !errors.Is(err, inbox.ErrNotFound) {
		return fmt.Errorf("backend.Get of an unknown ID: %v, want ErrNotFound", err)
	}
	return nil
}

func putIsDurable(h *harness) error {
	if h.Reopen == nil {
		return fmt.Errorf("%w: Harness.Reopen is nil", errSkip)
	}
	ctx, cancel := h.ctx()
	defer cancel()
	e := entry("durable", 3)
	if err := h.put(ctx, e); err != nil {
		return err
	}
	other, err := h.Reopen()
	if err != nil {
		return fmt.Errorf("backend.Reopen: %w", err)
	}
	info, err := other.Get(ctx, e.ID)
	if err != nil {
		return fmt.Errorf("backend.Get through the reopened backend: %w", err)
	}
	if info.State != inbox.Pending || !bytes.Equal(info.Event, e.Event) {
		return fmt.Errorf("reopened backend sees %s %s, want pending %s", info.State, info.Event, e.Event)
	}
	if added, err := other.Put(ctx, e); err != nil || added {
		return fmt.Errorf("backend.Put of the same ID through the reopened backend: added %t, err %v", added, err)
	}
	return nil
}

func runMakesDone(h *harness) error {
	ctx, cancel := h.ctx()
	defer cancel()
	const n = 20
	var es []inbox.Entry
	for i := range n {
		es = append(es, entry("done"+strconv.Itoa(i), 3))
	}
	if err := h.put(ctx, es...); err != nil {
		return err
	}
	var (
		mu    sync.Mutex
		seen  = map[string]inbox.Attempt{}
		stop  = newLatch()
		extra []string
	)
	err := h.runUntil(h.Backend, func(ctx context.Context, a inbox.Attempt) error {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := seen[a.ID]; dup {
			extra = append(extra, a.ID)
		}
		seen[a.ID] = a
		if len(seen) == n {
			stop.open()
		}
		return nil
	}, stop)
	if err != nil {
		return err
	}
	if len(extra) > 0 {
		return fmt.Errorf("entries run again after a successful attempt: %v", extra)
	}
	for _, e := range es {
		a := seen[e.ID]
		if a.N != 1 || !bytes.Equal(a.Event, e.Event) || a.Key != e.Key || a.Provider != e.Provider {
			return fmt.Errorf("attempt of %s: %+v, want attempt 1 of %+v", e.ID, a, e)
		}
		if _, err := h.expect(e.ID, inbox.Done, 1); err != nil {
			return err
		}
	}
	return nil
}

// failing runs entries with a handler that fails each entry's first fails
// attempts (all of them when fails < 0) with err, until every entry has
// had want attempts.
func (h *harness) failing(es []inbox.Entry, fails int, err error, want int) error {
	var (
		mu    sync.Mutex
		count = map[string]int{}
		total int
		stop  = newLatch()
	)
	return h.runUntil(h.Backend, func(ctx context.Context, a inbox.Attempt) error {
		mu.Lock()
		defer mu.Unlock()
		count[a.ID]++
		total++
		if total == want*len(es) {
			stop.open()
		}
		if count[a.ID] != a.N {
			return fmt.Errorf("attempt numbered %d is the entry's attempt %d", a.N, count[a.ID])
		}
		if fails < 0 || count[a.ID] <= fails {
			return fmt.Errorf("%w (attempt %d)", err, a.N)
		}
		return nil
	}, stop)
}

var errApp = errors.New("app answered 500")

func retryKeepsErrors(h *harness) error {
	ctx, cancel := h.ctx()
	defer cancel()
	e := entry("retry", 5)
	if err := h.put(ctx, e); err != nil {
		return err
	}
	if err := h.failing([]inbox.Entry{e}, 2, errApp, 3); err != nil {
		return err
	}
	info, err := h.expect(e.ID, inbox.Done, 3)
	if err != nil {
		return err
	}
	if len(info.Errors) == 0 || info.LastError() != errApp.Error()+" (attempt 2)" {
		return fmt.Errorf("errors %+v, want the last to be %q", info.Errors, errApp.Error()+" (attempt 2)")
	}
	if len(info.Errors) == 2 && (info.Errors[0].Attempt != 1 || info.Errors[1].Attempt != 2) {
		return fmt.Errorf("errors %+v, want attempts 1 and 2", info.Errors)
	}
	return nil
}

func deadAfterMaxAttempts(h *harness) error {
	ctx, cancel := h.ctx()
	defer cancel()
	e := entry("dead", 3)
	if err := h.put(ctx, e); err != nil {
		return err
	}
	if err := h.failing([]inbox.Entry{e}, -1, errApp, 3); err != nil {
		return err
	}
	info, err := h.expect(e.ID, inbox.Dead, 3)
	if err != nil {
		return err
	}
	if info.LastError() != errApp.Error()+" (attempt 3)" {
		return fmt.Errorf("last error %q, want that of attempt 3", info.LastError())
	}
	return nil
}

func permanentIsDeadAtOnce(h *harness) error {
	ctx, cancel := h.ctx()
	defer cancel()
	e := entry("permanent", 5)
	if err := h.put(ctx, e); err != nil {
		return err
	}
	stop := newLatch()
	var calls atomic.Int32
	err := h.runUntil(h.Backend, func(ctx context.Context, a inbox.Attempt) error {
		if calls.Add(1) == 1 {
			stop.open()
		}
		return inbox.Permanent(errors.New("refused by the provider's API"))
	}, stop)
	if err != nil {
		return err
	}
	if _, err := h.expect(e.ID, inbox.Dead, 1); err != nil {
		return err
	}
	if n := calls.Load(); n != 1 {
		return fmt.Errorf("a permanent failure was run %d times", n)
	}
	return nil
}

func replayAndDiscard(h *harness) error {
	ctx, cancel := h.ctx()
	defer cancel()
	dead, keep := entry("replay", 2), entry("pending", 2)
	if err := h.put(ctx, dead); err != nil {
		return err
	}
	if err := h.failing([]inbox.Entry{dead}, -1, errApp, 2); err != nil {
		return err
	}
	if _, err := h.expect(dead.ID, inbox.Dead, 2); err != nil {
		return err
	}
	if err := h.put(ctx, keep); err != nil {
		return err
	}
	if err := h.Backend.Replay(ctx, keep.ID); !errors.Is(err, inbox.ErrState) {
		return fmt.Errorf("backend.Replay of a pending entry: %v, want ErrState", err)
	}
	if err := h.Backend.Replay(ctx, "test:absent"); !errors.Is(err, inbox.ErrNotFound) {
		return fmt.Errorf("backend.Replay of an unknown ID: %v, want ErrNotFound", err)
	}
	if err := h.Backend.Discard(ctx, keep.ID); err != nil {
		return fmt.Errorf("backend.Discard of a pending entry: %w", err)
	}
	if _, err := h.Backend.Get(ctx, keep.ID); !errors.Is(err, inbox.ErrNotFound) {
		return fmt.Errorf("backend.Get after Discard: %v, want ErrNotFound", err)
	}
	if err := h.Backend.Discard(ctx, keep.ID); !errors.Is(err, inbox.ErrNotFound) {
		return fmt.Errorf("backend.Discard of an unknown ID: %v, want ErrNotFound", err)
	}
	if err := h.Backend.Replay(ctx, dead.ID); err != nil {
		return fmt.Errorf("backend.Replay of a dead entry: %w", err)
	}
	info, err := h.expect(dead.ID, inbox.Pending, 2)
	if err != nil {
		return err
	}
	if info.LastError() == "" {
		return errors.New("backend.Replay dropped the errors of the earlier attempts")
	}
	if info.MaxAttempts != 4 {
		return fmt.Errorf("entry.MaxAttempts %d after Replay of an entry put with 2 that died after 2, want 4", info.MaxAttempts)
	}
	stop := newLatch()
	if err := h.runUntil(h.Backend, func(ctx context.Context, a inbox.Attempt) error {
		stop.open()
		return nil
	}, stop); err != nil {
		return err
	}
	if _, err := h.expect(dead.ID, inbox.Done, 3); err != nil {
		return fmt.Errorf("after Replay and a successful attempt: %w", err)
	}
	return nil
}

func listAndStats(h *harness) error {
	ctx, cancel := h.ctx()
	defer cancel()
	var es []inbox.Entry
	for i := range 5 {
		e := entry("list"+strconv.Itoa(i), 1)
		if i%2 == 1 {
			e.Provider, e.ID = "other", "other:"+e.Key
		}
		es = append(es, e)
		if err := h.put(ctx, e); err != nil {
			return err
		}
	}
	// Each entry has one attempt, which fails: all die.
	stop := newLatch()
	var calls atomic.Int32
	if err := h.runUntil(h.Backend, func(ctx context.Context, a inbox.Attempt) error {
		if calls.Add(1) == int32(len(es)) {
			stop.open()
		}
		return errApp
	}, stop); err != nil {
		return err
	}
	ids := func(is []inbox.Info) []string {
		var out []string
		for _, i := range is {
			out = append(out, i.ID)
		}
		return out
	}
	all, err := h.Backend.List(ctx, inbox.Filter{})
	if err != nil {
		return fmt.Errorf("backend.List: %w", err)
	}
	want := []string{es[0].ID, es[1].ID, es[2].ID, es[3].ID, es[4].ID}
	if got := ids(all); !slices.Equal(got, want) {
		return fmt.Errorf("backend.List of every entry: %v, want %v, oldest first", got, want)
	}
	others, err := h.Backend.List(ctx, inbox.Filter{Provider: "other"})
	if err != nil {
		return fmt.Errorf("backend.List: %w", err)
	}
	if got := ids(others); !slices.Equal(got, []string{es[1].ID, es[3].ID}) {
		return fmt.Errorf("backend.List of provider other: %v", got)
	}
	limited, err := h.Backend.List(ctx, inbox.Filter{Limit: 2})
	if err != nil {
		return fmt.Errorf("backend.List: %w", err)
	}
	if got := ids(limited); !slices.Equal(got, want[:2]) {
		return fmt.Errorf("backend.List with Limit 2: %v, want %v", got, want[:2])
	}
	dead, err := h.Backend.List(ctx, inbox.Filter{State: inbox.Dead, Provider: "test"})
	if err != nil {
		return fmt.Errorf("backend.List: %w", err)
	}
	if got := ids(dead); !slices.Equal(got, []string{es[0].ID, es[2].ID, es[4].ID}) {
		return fmt.Errorf("backend.List of dead test entries: %v", got)
	}
	pending, err := h.Backend.List(ctx, inbox.Filter{State: inbox.Pending})
	if err != nil {
		return fmt.Errorf("backend.List: %w", err)
	}
	if len(pending) != 0 {
		return fmt.Errorf("backend.List of pending entries: %v, want none", ids(pending))
	}
	stats, err := h.Backend.Stats(ctx)
	if err != nil {
		return fmt.Errorf("backend.Stats: %w", err)
	}
	got := map[string]int{}
	for _, s := range stats {
		if s.N != 0 {
			got[s.Provider+"/"+s.State.String()] = s.N
		}
	}
	if len(got) != 2 || got["test/dead"] != 3 || got["other/dead"] != 2 {
		return fmt.Errorf("backend.Stats %v, want test/dead 3 and other/dead 2", got)
	}
	return nil
}

func oneRunnerPerEntry(h *harness) error {
	ctx, cancel := h.ctx()
	defer cancel()
	second := h.Backend
	if h.Reopen != nil {
		b, err := h.Reopen()
		if err != nil {
			return fmt.Errorf("backend.Reopen: %w", err)
		}
		second = b
	}
	const n = 40
	var es []inbox.Entry
	for i := range n {
		es = append(es, entry("race"+strconv.Itoa(i), 3))
	}
	if err := h.put(ctx, es...); err != nil {
		return err
	}
	var (
		mu      sync.Mutex
		running = map[string]bool{}
		runs    = map[string]int{}
		overlap []string
		stop    = newLatch()
	)
	hf := func(ctx context.Context, a inbox.Attempt) error {
		mu.Lock()
		if running[a.ID] {
			overlap = append(overlap, a.ID)
		}
		running[a.ID] = true
		mu.Unlock()
		time.Sleep(time.Millisecond) // hold the entry while the other runner looks for work
		mu.Lock()
		defer mu.Unlock()
		running[a.ID] = false
		runs[a.ID]++
		if len(runs) == n {
			stop.open()
		}
		return nil
	}
	errc := make(chan error, 1)
	stop2 := newLatch()
	go func() { errc <- h.runUntil(second, hf, stop2) }()
	err := h.runUntil(h.Backend, hf, stop)
	stop2.open()
	if err2 := <-errc; err == nil {
		err = err2
	}
	if err != nil {
		return err
	}
	if len(overlap) > 0 {
		return fmt.Errorf("entries run by two workers at once: %v", overlap)
	}
	for _, e := range es {
		if runs[e.ID] != 1 {
			return fmt.Errorf("%s run %d times by two runners, want once", e.ID, runs[e.ID])
		}
	}
	return nil
}

func timeoutFailsAttempt(h *harness) error {
	ctx, cancel := h.ctx()
	defer cancel()
	e := entry("timeout", 3)
	if err := h.put(ctx, e); err != nil {
		return err
	}
	h.cfg.Timeout = max(h.Config.Timeout, 100*time.Millisecond)
	if h.Config.Timeout <= 0 {
		h.cfg.Timeout = 100 * time.Millisecond
	}
	var calls atomic.Int32
	stop := newLatch()
	err := h.runUntil(h.Backend, func(ctx context.Context, a inbox.Attempt) error {
		if calls.Add(1) == 2 {
			stop.open()
			return nil
		}
		<-ctx.Done() // a handler that hangs until its attempt times out
		return ctx.Err()
	}, stop)
	if err != nil {
		return err
	}
	info, err := h.expect(e.ID, inbox.Done, 2)
	if err != nil {
		return err
	}
	if info.LastError() == "" {
		return errors.New("the timed-out attempt left no error")
	}
	return nil
}

func shutdownLeavesPending(h *harness) error {
	ctx, cancel := h.ctx()
	defer cancel()
	e := entry("shutdown", 3)
	if err := h.put(ctx, e); err != nil {
		return err
	}
	h.cfg.ShutdownTimeout = max(h.Config.ShutdownTimeout, 50*time.Millisecond)
	if h.Config.ShutdownTimeout <= 0 {
		h.cfg.ShutdownTimeout = 50 * time.Millisecond
	}
	started := newLatch()
	err := h.runUntil(h.Backend, func(ctx context.Context, a inbox.Attempt) error {
		started.open()
		<-ctx.Done() // still running when Run is told to stop
		return ctx.Err()
	}, started)
	if err != nil {
		return err
	}
	// The canceled attempt may count or not; the entry must stay pending.
	if info, err := h.get(e.ID); err != nil || info.State != inbox.Pending || info.Attempts > 1 {
		return fmt.Errorf("after a shutdown that canceled its only attempt: %s after %d attempts (%v), want pending",
			info.State, info.Attempts, err)
	}
	stop := newLatch()
	if err := h.runUntil(h.Backend, func(ctx context.Context, a inbox.Attempt) error {
		stop.open()
		return nil
	}, stop); err != nil {
		return fmt.Errorf("the next start: %w", err)
	}
	if info, err := h.get(e.ID); err != nil || info.State != inbox.Done {
		return fmt.Errorf("after the next start: %s (%v), want done", info.State, err)
	}
	return nil
}

func dropDeletes(h *harness) error {
	ctx, cancel := h.ctx()
	defer cancel()
	e := entry("drop", 5)
	e.Claim = true
	if err := h.put(ctx, e); err != nil {
		return err
	}
	stop := newLatch()
	var calls atomic.Int32
	err := h.runUntil(h.Backend, func(ctx context.Context, a inbox.Attempt) error {
		if calls.Add(1) == 1 {
			defer stop.open()
		}
		return inbox.Drop(errors.New("the provider's API knows no such payment"))
	}, stop)
	if err != nil {
		return err
	}
	if n := calls.Load(); n != 1 {
		return fmt.Errorf("a dropped entry was run %d times", n)
	}
	if _, err := h.get(e.ID); !errors.Is(err, inbox.ErrNotFound) {
		return fmt.Errorf("backend.Get of a dropped entry: %v, want ErrNotFound", err)
	}
	if n, err := h.Backend.Unconfirmed(ctx); err != nil || n != 0 {
		return fmt.Errorf("backend.Unconfirmed after the only one was dropped: %d, %v; want 0", n, err)
	}
	added, err := h.Backend.Put(ctx, e)
	if err != nil || !added {
		return fmt.Errorf("backend.Put of a dropped entry's ID: added %t, err %v; want a new entry", added, err)
	}
	return nil
}

func unconfirmedCounts(h *harness) error {
	ctx, cancel := h.ctx()
	defer cancel()
	count := func(want int, when string) error {
		n, err := h.Backend.Unconfirmed(ctx)
		if err != nil {
			return fmt.Errorf("backend.Unconfirmed %s: %w", when, err)
		}
		if n != want {
			return fmt.Errorf("backend.Unconfirmed %s: %d, want %d", when, n, want)
		}
		return nil
	}
	if err := count(0, "of an empty backend"); err != nil {
		return err
	}
	var claims []inbox.Entry
	for i := range 4 {
		e := entry("claim"+strconv.Itoa(i), 1)
		e.Claim = true
		claims = append(claims, e)
	}
	if err := h.put(ctx, append(slices.Clone(claims), entry("confirmed", 1))...); err != nil {
		return err
	}
	if added, err := h.Backend.Put(ctx, claims[0]); err != nil || added {
		return fmt.Errorf("second backend.Put of one ID: added %t, err %v", added, err)
	}
	if err := count(4, "after 4 entries with Claim and one without"); err != nil {
		return err
	}
	// claim0 done, claim2 dropped, claim1 and claim3 dead: 2 remain, then
	// 1 once claim3 is discarded.
	stop := newLatch()
	var (
		mu   sync.Mutex
		seen = map[string]bool{}
	)
	err := h.runUntil(h.Backend, func(ctx context.Context, a inbox.Attempt) error {
		mu.Lock()
		seen[a.ID] = true
		if len(seen) == 5 {
			defer stop.open()
		}
		mu.Unlock()
		switch a.Key {
		case "claim1":
			return errApp
		case "claim2":
			return inbox.Drop(errApp)
		case "claim3":
			return inbox.Permanent(errApp)
		}
		return nil
	}, stop)
	if err != nil {
		return err
	}
	if _, err := h.expect(claims[1].ID, inbox.Dead, 1); err != nil {
		return err
	}
	if err := count(2, "after one done, one dropped and two dead"); err != nil {
		return err
	}
	if err := h.Backend.Discard(ctx, claims[3].ID); err != nil {
		return fmt.Errorf("backend.Discard: %w", err)
	}
	return count(1, "after one dead was discarded")
}
