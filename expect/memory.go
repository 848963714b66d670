package expect

import (
	"cmp"
	"container/heap"
	"context"
	"slices"
	"sync"
	"time"
)

// Memory is a [Store] held in one process's memory: for tests, and for a
// single process that may forget its expectations when it ends. Make one
// with [NewMemory]; the zero value is not usable. It is safe for concurrent
// use.
type Memory struct {
	now func() time.Time

	mu        sync.Mutex
	seq       uint64
	byID      map[pkey]*memRec
	byRef     map[pkey]*memRec
	byPayment map[pkey]*memRec
	recs      map[*memRec]struct{}
	polls     map[string]*pollHeap // per provider: the pending ones with an ID, by NextPoll
}

type pkey struct{ provider, s string }

type memRec struct {
	x         Expectation
	seq       uint64 // the order of Add, to break ties
	index     int    // in its provider's pollHeap; -1 when not in it
	confirmed bool   // Confirm: its settlement's payment was processed
}

// pollHeap orders a provider's pollable expectations by NextPoll, so that
// Due finds the due ones without a scan of every expectation.
type pollHeap []*memRec

func (h pollHeap) Len() int { return len(h) }
func (h pollHeap) Less(i, j int) bool {
	return cmp.Or(h[i].x.NextPoll.Compare(h[j].x.NextPoll), cmp.Compare(h[i].seq, h[j].seq)) < 0
}
func (h pollHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *pollHeap) Push(x any) {
	r := x.(*memRec)
	r.index = len(*h)
	*h = append(*h, r)
}
func (h *pollHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h, r.index = old[:len(old)-1], -1
	return r
}

// track keeps r in its provider's pollHeap while it is pending with an
// ID, at its NextPoll, and out of it otherwise. m.mu is held.
func (m *Memory) track(r *memRec) {
	h := m.polls[r.x.Provider]
	pollable := r.x.State == Pending && r.x.ID != ""
	switch {
	case pollable && r.index < 0:
		if h == nil {
			h = &pollHeap{}
			m.polls[r.x.Provider] = h
		}
		heap.Push(h, r)
	case pollable:
		heap.Fix(h, r.index)
	case r.index >= 0:
		heap.Remove(h, r.index)
	}
}

// MemoryOption configures [NewMemory].
type MemoryOption func(*Memory)

// WithClock sets the clock that stamps CreatedAt when Add is given none.
// Default: time.Now.
func WithClock(now func() time.Time) MemoryOption {
	return func(m *Memory) {
		if now != nil {
			m.now = now
		}
	}
}

// NewMemory returns an empty Memory store.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{
		now:       time.Now,
		byID:      make(map[pkey]*memRec),
		byRef:     make(map[pkey]*memRec),
		byPayment: make(map[pkey]*memRec),
		recs:      make(map[*memRec]struct{}),
		polls:     make(map[string]*pollHeap),
	}
	for _, o := range opts {
		if o != nil {
			o(m)
		}
	}
	return m
}

// Add implements [Store].
func (m *Memory) Add(ctx context.Context, x Expectation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := x.Validate(); err != nil {
		return err
	}
	x.State, x.Attempts = Pending, 0
	x.PaymentID, x.Outcome, x.SettledAt = "", "", time.Time{}
	if x.CreatedAt.IsZero() {
		x.CreatedAt = m.now()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if x.ID != "" && m.byID[pkey{x.Provider, x.ID}] != nil {
		return ErrExists
	}
	if x.Ref != "" && m.byRef[pkey{x.Provider, x.Ref}] != nil {
		return ErrExists
	}
	m.seq++
	r := &memRec{x: x, seq: m.seq, index: -1}
	if x.ID != "" {
		m.byID[pkey{x.Provider, x.ID}] = r
	}
	if x.Ref != "" {
		m.byRef[pkey{x.Provider, x.Ref}] = r
	}
	m.recs[r] = struct{}{}
	m.track(r)
	return nil
}

// find returns the record k finds, or nil. m.mu is held.
func (m *Memory) find(k Key) *memRec {
	if k.ID != "" {
		return m.byID[pkey{k.Provider, k.ID}]
	}
	if k.Ref != "" {
		return m.byRef[pkey{k.Provider, k.Ref}]
	}
	return nil
}

// Get implements [Store].
func (m *Memory) Get(ctx context.Context, k Key) (Expectation, error) {
	if err := ctx.Err(); err != nil {
		return Expectation{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.find(k)
	if r == nil {
		return Expectation{}, ErrNotFound
	}
	return r.x, nil
}

// Settle implements [Store].
func (m *Memory) Settle(ctx context.Context, k Key, s Settlement) (Expectation, error) {
	if err := ctx.Err(); err != nil {
		return Expectation{}, err
	}
	if err := ValidSettlement(s); err != nil {
		return Expectation{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.find(k)
	if r == nil {
		return Expectation{}, ErrNotFound
	}
	x := &r.x
	switch {
	case x.State == Settled && x.PaymentID == s.PaymentID:
		return *x, nil
	case x.State == Settled:
		return Expectation{}, ErrSettled
	case x.State == Cancelled:
		return Expectation{}, ErrState
	case x.ID != "" && x.ID != s.PaymentID:
		return Expectation{}, ErrConflict
	}
	pk := pkey{x.Provider, s.PaymentID}
	if other := m.byPayment[pk]; other != nil && other != r {
		return Expectation{}, ErrConflict
	}
	x.State, x.PaymentID, x.Outcome, x.SettledAt = Settled, s.PaymentID, s.Outcome, s.At
	r.confirmed = false
	m.byPayment[pk] = r
	m.track(r)
	return *x, nil
}

// Reopen implements [Store].
func (m *Memory) Reopen(ctx context.Context, k Key, paymentID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.find(k)
	if r == nil {
		return ErrNotFound
	}
	x := &r.x
	if x.State != Settled || x.PaymentID != paymentID || paymentID == "" {
		return ErrState
	}
	delete(m.byPayment, pkey{x.Provider, x.PaymentID})
	x.State, x.PaymentID, x.Outcome, x.SettledAt, x.NextPoll = Pending, "", "", time.Time{}, time.Time{}
	m.track(r)
	return nil
}

// Cancel implements [Store].
func (m *Memory) Cancel(ctx context.Context, k Key) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.find(k)
	switch {
	case r == nil:
		return ErrNotFound
	case r.x.State == Settled:
		return ErrState
	}
	r.x.State = Cancelled
	m.track(r)
	return nil
}

// Due implements [Store].
func (m *Memory) Due(ctx context.Context, providers []string, now time.Time, lease time.Duration, limit int) ([]Expectation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	due := m.due(providers, now, limit)
	out := make([]Expectation, len(due))
	for i, r := range due {
		r.x.NextPoll = now.Add(lease)
		r.x.Attempts++
		m.track(r)
		out[i] = r.x
	}
	return out, nil
}

// due returns up to limit of the providers' pollable expectations due at
// now, those due first, from the heads of their pollHeaps. m.mu is held.
func (m *Memory) due(providers []string, now time.Time, limit int) []*memRec {
	if limit <= 0 {
		return nil
	}
	if len(providers) == 0 {
		for p := range m.polls {
			providers = append(providers, p)
		}
	}
	var out []*memRec
	for _, p := range providers {
		h := m.polls[p]
		if h == nil {
			continue
		}
		taken := 0
		for h.Len() > 0 && taken < limit && !(*h)[0].x.NextPoll.After(now) {
			out = append(out, heap.Pop(h).(*memRec))
			taken++
		}
	}
	slices.SortFunc(out, func(a, b *memRec) int {
		return cmp.Or(a.x.NextPoll.Compare(b.x.NextPoll), cmp.Compare(a.seq, b.seq))
	})
	for _, r := range out[min(limit, len(out)):] {
		m.track(r) // not taken: back in its heap
	}
	for _, r := range out[:min(limit, len(out))] {
		m.track(r) // back in, at the lease's end once Due moves it
	}
	return out[:min(limit, len(out))]
}

// Reschedule implements [Store].
func (m *Memory) Reschedule(ctx context.Context, k Key, next time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.find(k)
	switch {
	case r == nil:
		return ErrNotFound
	case r.x.State != Pending:
		return ErrState
	}
	r.x.NextPoll = next
	m.track(r)
	return nil
}

// MarkOverdue implements [Store].
func (m *Memory) MarkOverdue(ctx context.Context, providers []string, now time.Time, limit int) ([]Expectation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	late := m.select_(func(x *Expectation) bool {
		return x.State == Pending && !x.Deadline.After(now) && in(providers, x.Provider)
	}, byDeadline, limit)
	out := make([]Expectation, len(late))
	for i, r := range late {
		r.x.State = Overdue
		m.track(r)
		out[i] = r.x
	}
	return out, nil
}

// List implements [Store].
func (m *Memory) List(ctx context.Context, f Filter) ([]Expectation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	recs := m.select_(func(x *Expectation) bool {
		return (f.Provider == "" || x.Provider == f.Provider) && (f.State == 0 || x.State == f.State)
	}, byDeadline, limit)
	out := make([]Expectation, len(recs))
	for i, r := range recs {
		out[i] = r.x
	}
	return out, nil
}

// Forget implements [Store].
func (m *Memory) Forget(ctx context.Context, providers []string, before time.Time, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.select_(func(x *Expectation) bool {
		return in(providers, x.Provider) && forgettable(*x, before)
	}, byDeadline, limit)
	for _, r := range old {
		x := r.x
		if x.ID != "" {
			delete(m.byID, pkey{x.Provider, x.ID})
		}
		if x.Ref != "" {
			delete(m.byRef, pkey{x.Provider, x.Ref})
		}
		if x.PaymentID != "" && m.byPayment[pkey{x.Provider, x.PaymentID}] == r {
			delete(m.byPayment, pkey{x.Provider, x.PaymentID})
		}
		delete(m.recs, r)
	}
	return len(old), nil
}

// Unconfirmed implements [Store]. It reads every expectation: Memory is
// for tests and small single processes.
func (m *Memory) Unconfirmed(ctx context.Context, providers []string, before time.Time, limit int) ([]Expectation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if limit <= 0 {
		return nil, nil
	}
	var recs []*memRec
	for r := range m.recs {
		if x := &r.x; !r.confirmed && x.State == Settled && !x.SettledAt.After(before) && in(providers, x.Provider) {
			recs = append(recs, r)
		}
	}
	slices.SortFunc(recs, func(a, b *memRec) int {
		return cmp.Or(a.x.SettledAt.Compare(b.x.SettledAt), cmp.Compare(a.seq, b.seq))
	})
	out := make([]Expectation, 0, min(len(recs), limit))
	for _, r := range recs[:min(len(recs), limit)] {
		out = append(out, r.x)
	}
	return out, nil
}

// Confirm implements [Store].
func (m *Memory) Confirm(ctx context.Context, k Key, paymentID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.find(k)
	switch {
	case r == nil:
		return ErrNotFound
	case r.x.State != Settled || r.x.PaymentID != paymentID || paymentID == "":
		return ErrState
	}
	r.confirmed = true
	return nil
}

func byDeadline(a, b *memRec) int { return a.x.Deadline.Compare(b.x.Deadline) }

// select_ returns up to limit records that keep selects, in order. m.mu is
// held.
func (m *Memory) select_(keep func(*Expectation) bool, order func(a, b *memRec) int, limit int) []*memRec {
	if limit <= 0 {
		return nil
	}
	var out []*memRec
	for r := range m.recs {
		if keep(&r.x) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *memRec) int { return cmp.Or(order(a, b), cmp.Compare(a.seq, b.seq)) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// in reports whether provider is one of providers, or providers is empty.
func in(providers []string, provider string) bool {
	return len(providers) == 0 || slices.Contains(providers, provider)
}
