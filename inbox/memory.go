package inbox

import (
	"cmp"
	"container/heap"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/payhook/payhook/internal/optcheck"
	"github.com/payhook/payhook/internal/sentinel"
)

// Memory is a [Backend] held in one process's memory: for tests, and for a
// single process that may lose its entries when it ends. Nothing survives a
// restart: use a durable backend for payments. A done entry is forgotten
// after [WithDoneRetention], so that a long-running process does not grow
// without end; a dead one is kept until it is replayed or discarded.
//
// A Memory is safe for concurrent use, and several Run loops may share it.
// Make one with [NewMemory]; the zero value is not usable.
type Memory struct {
	refused       optcheck.Refused // values the options could not use
	now           func() time.Time
	doneRetention time.Duration

	mu      sync.Mutex
	entries map[string]*memEntry
	queue   memQueue // the pending and running ones, by when they are due
	seq     uint64
	changed chan struct{} // closed and replaced when an entry may have become due
	done    []doneMark    // the entries done, in the order they were done
	// unconfirmed counts the entries with Claim that are not done.
	unconfirmed int
}

type memEntry struct {
	info   Info
	seq    uint64
	lease  time.Time // while running: when another worker may take it
	budget int       // the MaxAttempts it was put with, granted again by Replay
	due    time.Time // in the queue: NextAt while pending, lease while running
	index  int       // in the queue; -1 when not in it
}

// memQueue is a heap of entries by due time, then by arrival: take finds
// the next entry in O(1) and reschedules it in O(log n), however many wait.
type memQueue []*memEntry

func (q memQueue) Len() int { return len(q) }
func (q memQueue) Less(i, j int) bool {
	return cmp.Or(q[i].due.Compare(q[j].due), cmp.Compare(q[i].seq, q[j].seq)) < 0
}
func (q memQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *memQueue) Push(x any) {
	e := x.(*memEntry)
	e.index = len(*q)
	*q = append(*q, e)
}
func (q *memQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q, e.index = old[:len(old)-1], -1
	return e
}

// schedule puts e in the queue, due at due, or moves it there. m.mu is held.
func (m *Memory) schedule(e *memEntry, due time.Time) {
	e.due = due
	if e.index < 0 {
		heap.Push(&m.queue, e)
	} else {
		heap.Fix(&m.queue, e.index)
	}
}

// unschedule takes e out of the queue, if it is in it. m.mu is held.
func (m *Memory) unschedule(e *memEntry) {
	if e.index >= 0 {
		heap.Remove(&m.queue, e.index)
	}
}

// doneMark records that entry id was done at at; it is stale if the entry
// has changed since (replayed, discarded).
type doneMark struct {
	id string
	at time.Time
}

// DefaultDoneRetention is how long a [Memory] keeps a done entry unless
// [WithDoneRetention] says otherwise: as long as the durable backends, and
// as payhook remembers a processed event (payhook.DefaultRetention).
const DefaultDoneRetention = 7 * 24 * time.Hour

// WithDoneRetention sets how long a done entry is kept (listed, counted,
// and a second Put of its id refused) before it is forgotten; a negative d
// keeps done entries forever, and 0 is refused (a done entry must refuse
// its ID for a while). Every backend's WithDoneRetention means the same.
// Default: DefaultDoneRetention.
func WithDoneRetention(d time.Duration) MemoryOption {
	return func(m *Memory) {
		if d == 0 {
			m.refused.Add("WithDoneRetention(0): want a positive duration, or a negative one to keep done entries forever")
			return
		}
		m.doneRetention = d
	}
}

// forgetDone removes the done entries whose retention has ended by now.
// Entries are done in time order, so they are at the front. m.mu is held.
func (m *Memory) forgetDone(now time.Time) {
	if m.doneRetention < 0 {
		m.done = nil
		return
	}
	for len(m.done) > 0 && !now.Before(m.done[0].at.Add(m.doneRetention)) {
		d := m.done[0]
		m.done[0] = doneMark{}
		m.done = m.done[1:]
		if e, ok := m.entries[d.id]; ok && e.info.State == Done && e.info.UpdatedAt.Equal(d.at) {
			delete(m.entries, d.id)
		}
	}
}

// MemoryOption configures [NewMemory].
type MemoryOption func(*Memory)

// WithClock makes the store read the time from now, which must not be
// nil. Default: time.Now.
func WithClock(now func() time.Time) MemoryOption {
	return func(m *Memory) {
		if now == nil {
			m.refused.Add("WithClock(nil)")
			return
		}
		m.now = now
	}
}

// NewMemory returns an empty in-memory backend. It needs nothing and
// cannot otherwise fail, so it returns no error: an option given a value
// it cannot use (a constant in the program) makes it panic with an error
// wrapping payhook.ErrConfig, as time.NewTicker panics on a non-positive
// interval.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{now: time.Now, doneRetention: DefaultDoneRetention, entries: make(map[string]*memEntry), changed: make(chan struct{})}
	for _, o := range opts {
		if o != nil {
			o(m)
		}
	}
	if err := m.refused.Err("inbox", sentinel.ErrConfig); err != nil {
		panic(err)
	}
	return m
}

// unconfirmedOf is 1 if e counts among the unconfirmed entries.
func unconfirmedOf(e *memEntry) int {
	if e.info.Claim && e.info.State != Done {
		return 1
	}
	return 0
}

// Unconfirmed implements [Backend]: a counter kept as entries change.
func (m *Memory) Unconfirmed(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.forgetDone(m.now())
	return m.unconfirmed, nil
}

// wake tells the Run loops to look for due entries. m.mu is held.
func (m *Memory) wake() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// Put implements [Backend].
func (m *Memory) Put(ctx context.Context, e Entry) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.forgetDone(now)
	if _, ok := m.entries[e.ID]; ok {
		return false, nil
	}
	e.Event = append([]byte(nil), e.Event...)
	m.seq++
	me := &memEntry{info: Info{Entry: e, State: Pending, NextAt: now, UpdatedAt: now}, seq: m.seq, budget: e.MaxAttempts, index: -1}
	m.entries[e.ID] = me
	m.unconfirmed += unconfirmedOf(me)
	m.schedule(me, now)
	m.wake()
	return true, nil
}

// take marks the entry due the longest (the first put, among entries due
// at once) running and returns it with its attempt number; or, when none is
// due, how long until one may be (0: nothing is scheduled) and the channel
// that says something changed. A running entry is due when its lease ends:
// its worker went away without an answer.
func (m *Memory) take(lease time.Duration) (Attempt, bool, time.Duration, <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if len(m.queue) == 0 {
		return Attempt{}, false, 0, m.changed
	}
	best := m.queue[0]
	if best.due.After(now) {
		return Attempt{}, false, best.due.Sub(now), m.changed
	}
	best.info.State = Running
	best.info.Attempts++
	best.info.UpdatedAt = now
	best.lease = now.Add(lease)
	m.schedule(best, best.lease)
	return Attempt{Entry: best.info.Entry, N: best.info.Attempts}, true, 0, nil
}

// finish records the outcome of attempt a. canceled says that Run's
// shutdown canceled it: the attempt does not count.
func (m *Memory) finish(a Attempt, err error, canceled bool, cfg RunConfig) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[a.ID]
	if !ok || e.info.State != Running || e.info.Attempts != a.N {
		return // discarded, or taken again after its lease: not ours any more
	}
	now := m.now()
	e.info.UpdatedAt = now
	m.unconfirmed -= unconfirmedOf(e)
	defer func() { m.unconfirmed += unconfirmedOf(e) }()
	switch {
	case IsDrop(err) && !canceled:
		delete(m.entries, a.ID)
		m.unschedule(e)
		e.info.State = Done // no longer counted
	case canceled:
		e.info.Attempts--
		e.info.State, e.info.NextAt = Pending, now
		m.schedule(e, now)
	case err == nil:
		e.info.State = Done
		m.unschedule(e)
		m.done = append(m.done, doneMark{a.ID, now})
	default:
		e.info.Errors = append(e.info.Errors, AttemptError{Attempt: a.N, At: now, Error: err.Error()})
		if IsPermanent(err) || a.N >= e.info.MaxAttempts {
			e.info.State = Dead
			m.unschedule(e)
		} else {
			e.info.State, e.info.NextAt = Pending, now.Add(cfg.Backoff(a.N))
			m.schedule(e, e.info.NextAt)
		}
	}
	m.wake()
}

// Run implements [Backend].
func (m *Memory) Run(ctx context.Context, h Handler, cfg RunConfig) error {
	r := NewRunner(ctx, cfg, h, func(a Attempt, err error, canceled bool) { m.finish(a, err, canceled, cfg) })
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for r.Acquire(ctx) {
		a, ok, wait, changed := m.take(cfg.Lease)
		if ok {
			r.Go(a)
			continue
		}
		r.Release()
		var tick <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			tick = timer.C
		}
		select {
		case <-ctx.Done():
		case <-changed:
		case <-tick:
		}
	}
	r.Shutdown()
	return nil
}

// Get implements [Backend].
func (m *Memory) Get(ctx context.Context, id string) (Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[id]
	if !ok {
		return Info{}, ErrNotFound
	}
	return e.info.clone(), nil
}

func (i Info) clone() Info {
	i.Event = slices.Clone(i.Event)
	i.Errors = slices.Clone(i.Errors)
	return i
}

// List implements [Backend].
func (m *Memory) List(ctx context.Context, f Filter) ([]Info, error) {
	m.mu.Lock()
	var sel []*memEntry
	for _, e := range m.entries {
		if (f.State == 0 || e.info.State == f.State) && (f.Provider == "" || e.info.Provider == f.Provider) {
			sel = append(sel, e)
		}
	}
	slices.SortFunc(sel, func(a, b *memEntry) int { return cmp.Compare(a.seq, b.seq) })
	if f.Limit > 0 && len(sel) > f.Limit {
		sel = sel[:f.Limit]
	}
	out := make([]Info, len(sel))
	for i, e := range sel {
		out[i] = e.info.clone()
	}
	m.mu.Unlock()
	return out, nil
}

// Stats implements [Backend].
func (m *Memory) Stats(ctx context.Context) ([]Stat, error) {
	m.mu.Lock()
	counts := make(map[Stat]int)
	for _, e := range m.entries {
		counts[Stat{Provider: e.info.Provider, State: e.info.State}]++
	}
	m.mu.Unlock()
	out := make([]Stat, 0, len(counts))
	for s, n := range counts {
		s.N = n
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Stat) int {
		return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.State, b.State))
	})
	return out, nil
}

// Replay implements [Backend].
func (m *Memory) Replay(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[id]
	switch {
	case !ok:
		return ErrNotFound
	case e.info.State != Dead && e.info.State != Done:
		return ErrState
	}
	now := m.now()
	m.unconfirmed -= unconfirmedOf(e)
	e.info.State, e.info.NextAt, e.info.UpdatedAt = Pending, now, now
	m.unconfirmed += unconfirmedOf(e)
	e.info.MaxAttempts = e.info.Attempts + max(e.budget, 1)
	m.schedule(e, now)
	m.wake()
	return nil
}

// Discard implements [Backend].
func (m *Memory) Discard(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[id]
	switch {
	case !ok:
		return ErrNotFound
	case e.info.State == Running:
		return ErrState
	}
	delete(m.entries, id)
	m.unschedule(e)
	m.unconfirmed -= unconfirmedOf(e)
	return nil
}
