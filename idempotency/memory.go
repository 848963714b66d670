package idempotency

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/payhook/payhook/internal/optcheck"
	"github.com/payhook/payhook/internal/sentinel"
)

// DefaultMaxKeys is the number of keys a [Memory] store holds unless
// [WithMaxKeys] says otherwise.
const DefaultMaxKeys = 100_000

// Memory is a [Store] held in the memory of one process: the default store,
// right for an application that runs as a single replica. It forgets
// everything when the process ends, and replicas do not see each other's
// keys; use a shared store (redisstore, pgstore) for more than one.
//
// Expired records are removed lazily (a completion drops the done records
// whose retention has ended), so Memory starts no goroutine and needs no
// Close. Its size is bounded: when a new key would exceed the bound, it
// drops expired records and then, if that frees too little, the done records
// closest to the end of their retention, never a record in flight. If every
// record is in flight, Claim returns [ErrFull].
//
// A Memory is safe for concurrent use. Make one with [NewMemory]; the zero
// value is not usable.
type Memory struct {
	refused optcheck.Refused // values the options could not use
	now     func() time.Time
	max     int

	mu      sync.Mutex
	records map[string]record
	// done holds the done records by the end of their retention, soonest
	// first (a binary heap), so that making room takes the next ones off
	// the top instead of sorting every record. An entry whose record has
	// changed since (expired, claimed again) is stale and skipped.
	done []doneRecord
}

type record struct {
	token   string // empty once done
	expires time.Time
}

// MemoryOption configures a [Memory] store. An option given a value it
// cannot use makes NewMemory panic with an error wrapping
// payhook.ErrConfig.
type MemoryOption func(*Memory)

// WithMaxKeys bounds the number of keys the store holds: 1 or more.
// Default: DefaultMaxKeys.
func WithMaxKeys(n int) MemoryOption {
	return func(m *Memory) {
		if n < 1 {
			m.refused.Add("WithMaxKeys(%d): want 1 or more", n)
			return
		}
		m.max = n
	}
}

// WithClock makes the store read the time from now, so that tests can move
// leases and retention forward without sleeping. It must not be nil.
// Default: time.Now.
func WithClock(now func() time.Time) MemoryOption {
	return func(m *Memory) {
		if now == nil {
			m.refused.Add("WithClock(nil)")
			return
		}
		m.now = now
	}
}

// NewMemory returns an empty in-memory store. It needs nothing and cannot
// otherwise fail, so it returns no error: an option given a value it
// cannot use (a constant in the program) makes it panic with an error
// wrapping payhook.ErrConfig, as time.NewTicker panics on a non-positive
// interval.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{now: time.Now, max: DefaultMaxKeys, records: make(map[string]record)}
	for _, o := range opts {
		if o != nil {
			o(m)
		}
	}
	if err := m.refused.Err("idempotency", sentinel.ErrConfig); err != nil {
		panic(err)
	}
	return m
}

// Claim implements [Store].
func (m *Memory) Claim(ctx context.Context, key, token string, lease time.Duration) (State, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if token == "" {
		return 0, errEmptyToken
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[key]
	switch {
	case ok && now.Before(r.expires) && r.token == "":
		return Done, nil
	case ok && now.Before(r.expires) && r.token != token:
		return InFlight, nil
	case !ok && len(m.records) >= m.max && !m.makeRoom(now):
		return 0, ErrFull
	}
	m.records[key] = record{token: token, expires: now.Add(lease)}
	return Acquired, nil
}

// errEmptyToken is Claim's answer to an empty token, which could never be
// completed or released.
var errEmptyToken = errors.New("idempotency: claim: empty token")

// Complete implements [Store].
func (m *Memory) Complete(ctx context.Context, key, token string, retention time.Duration) error {
	return m.finish(ctx, key, token, func(now time.Time) {
		m.dropExpired(now)
		r := record{expires: now.Add(retention)}
		m.records[key] = r
		m.pushDone(doneRecord{key, r.expires})
	})
}

// Release implements [Store].
func (m *Memory) Release(ctx context.Context, key, token string) error {
	return m.finish(ctx, key, token, func(time.Time) { delete(m.records, key) })
}

// finish runs change under the lock if token owns key's unexpired claim.
func (m *Memory) finish(ctx context.Context, key, token string, change func(now time.Time)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[key]
	if !ok || token == "" || r.token != token || !now.Before(r.expires) {
		return ErrNotOwner
	}
	change(now)
	return nil
}

// Len returns the number of records held, expired ones included until they
// are swept.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.records)
}

// makeRoom frees at least one slot, and up to a sixteenth of the bound, so
// that the cost is shared by many claims: the done records soonest at the
// end of their retention go first, expired ones among them. Only when that
// frees nothing (every record in flight, or leases that ended) does it
// sweep every record for expired ones. It reports whether any slot was
// freed. m.mu is held.
func (m *Memory) makeRoom(now time.Time) bool {
	before := len(m.records)
	want := max(1, m.max/16)
	for len(m.done) > 0 && before-len(m.records) < want {
		d := m.popDone()
		if r, ok := m.records[d.key]; ok && r.token == "" && r.expires.Equal(d.expires) {
			delete(m.records, d.key)
		}
	}
	if len(m.records) == before {
		for k, r := range m.records {
			if !now.Before(r.expires) {
				delete(m.records, k)
			}
		}
	}
	return len(m.records) < before
}

// dropExpired removes the done records whose retention ended by now, from
// the top of the heap: as many as were pushed, over time, so that the heap
// holds about one entry a record however short the retention (a key done
// again leaves its earlier entry behind). m.mu is held.
func (m *Memory) dropExpired(now time.Time) {
	for len(m.done) > 0 && !now.Before(m.done[0].expires) {
		d := m.popDone()
		if r, ok := m.records[d.key]; ok && r.token == "" && r.expires.Equal(d.expires) {
			delete(m.records, d.key)
		}
	}
}

// pushDone and popDone keep m.done a heap ordered by expires. A heap that
// has grown to twice the bound is mostly stale entries (keys done again
// and again): it is rebuilt from the records.
func (m *Memory) pushDone(d doneRecord) {
	if len(m.done) >= 2*m.max+64 {
		m.done = m.done[:0]
		for k, r := range m.records {
			if r.token == "" && k != d.key {
				m.pushDone(doneRecord{k, r.expires})
			}
		}
	}
	m.done = append(m.done, d)
	for i := len(m.done) - 1; i > 0; {
		parent := (i - 1) / 2
		if !m.done[i].expires.Before(m.done[parent].expires) {
			break
		}
		m.done[i], m.done[parent] = m.done[parent], m.done[i]
		i = parent
	}
}

func (m *Memory) popDone() doneRecord {
	top := m.done[0]
	last := len(m.done) - 1
	m.done[0] = m.done[last]
	m.done[last] = doneRecord{}
	m.done = m.done[:last]
	for i := 0; ; {
		least, l, r := i, 2*i+1, 2*i+2
		if l < last && m.done[l].expires.Before(m.done[least].expires) {
			least = l
		}
		if r < last && m.done[r].expires.Before(m.done[least].expires) {
			least = r
		}
		if least == i {
			return top
		}
		m.done[i], m.done[least] = m.done[least], m.done[i]
		i = least
	}
}

type doneRecord struct {
	key     string
	expires time.Time
}
