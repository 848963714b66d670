// Package clientlimit keeps one token-bucket rate limiter per client, in a
// table of bounded size.
package clientlimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter limits each client, named by a string key, to a rate and a burst.
// It is safe for concurrent use.
type Limiter struct {
	rate  rate.Limit
	burst int
	max   int

	mu      sync.Mutex
	clients map[string]*rate.Limiter
}

// New returns a Limiter that tracks at most max clients at once.
func New(r rate.Limit, burst, max int) *Limiter {
	return &Limiter{rate: r, burst: burst, max: max, clients: make(map[string]*rate.Limiter)}
}

// MaxWait is the longest wait Allow reports: a bucket that refills more
// slowly, or never (a rate of zero), is retried after it and refused again.
const MaxWait = time.Hour

// Allow takes one token from key's bucket at now. When the bucket is empty it
// reports false and how long until a token is available, at most MaxWait,
// taking nothing.
func (l *Limiter) Allow(key string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	lim, ok := l.clients[key]
	if !ok {
		if len(l.clients) >= l.max {
			l.evict(now)
		}
		lim = rate.NewLimiter(l.rate, l.burst)
		l.clients[key] = lim
	}
	l.mu.Unlock()
	if lim.AllowN(now, 1) {
		return 0, true
	}
	r := lim.ReserveN(now, 1)
	if !r.OK() { // a burst of zero never allows anything
		return MaxWait, false
	}
	wait := r.DelayFrom(now) // rate.InfDuration when the bucket never refills
	r.CancelAt(now)
	return min(wait, MaxWait), false
}

// Len returns the number of clients tracked.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// evict makes room in a full table. A client whose bucket has refilled is
// indistinguishable from a new one, so forgetting it changes nothing; only
// when a spray of addresses keeps every bucket busy are live buckets
// dropped, an eighth of the table at a time so the sweep's cost is shared.
// l.mu is held.
func (l *Limiter) evict(now time.Time) {
	for k, lim := range l.clients {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.clients, k)
		}
	}
	target := l.max - max(1, l.max/8)
	for k := range l.clients {
		if len(l.clients) <= target {
			break
		}
		delete(l.clients, k)
	}
}
