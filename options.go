package payhook

import (
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/internal/optcheck"
)

// Defaults of the middleware's options.
const (
	// DefaultMaxBodyBytes caps a webhook's body. The providers' bodies are
	// well under a kilobyte; the cap leaves room for large metadata.
	DefaultMaxBodyBytes = 256 << 10
	// DefaultLease is how long a delivery holds its event while the handler
	// runs. A handler that runs longer risks a concurrent duplicate being
	// processed too: raise it with [WithLease] for slow handlers.
	DefaultLease = time.Minute
	// DefaultRetention is how long a processed event is remembered, so that
	// a late duplicate is still recognised.
	DefaultRetention = 7 * 24 * time.Hour
	// DefaultMaxClients bounds the number of clients a rate limit tracks.
	DefaultMaxClients = 10_000
)

// Option configures [Middleware] and [Handle]. Without options, the
// middleware uses a fresh in-memory store, the default limits above, no rate
// limit and no logging. An option given a value it cannot use (a nil store,
// a lease of zero) is never ignored: Middleware and Handle panic with an
// error wrapping [ErrConfig], as they do on a nil Provider, since they
// return no error and the mistake is the program's.
type Option func(*config)

type config struct {
	store      idempotency.Store
	ownStore   bool // store is the default, this middleware's alone
	maxBody    int64
	lease      time.Duration
	retention  time.Duration
	rateLimit  *RateLimit
	logger     *slog.Logger
	now        func() time.Time
	inbox      *inbox.Inbox
	observer   *Observer
	expect     expect.Store // WithExpectations'
	reconciler *Reconciler
	refused    optcheck.Refused // values the options could not use
}

func newConfig(opts []Option) config {
	c := config{
		maxBody:   DefaultMaxBodyBytes,
		lease:     DefaultLease,
		retention: DefaultRetention,
		logger:    slog.New(slog.DiscardHandler),
		now:       time.Now,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.store == nil {
		c.store, c.ownStore = idempotency.NewMemory(idempotency.WithClock(c.now)), true
	}
	return c
}

// WithStore sets the store that records which events were processed.
// Default: a new [idempotency.NewMemory] store for each middleware, which
// does not outlive the process nor reach other replicas. In a store given
// here, keys are prefixed with the provider's name ("kazawallet:ord_123"),
// so one store can serve every provider. A nil store is refused
// ([ErrConfig]).
func WithStore(s idempotency.Store) Option {
	return func(c *config) {
		if s == nil {
			c.refused.Add("WithStore(nil)")
			return
		}
		c.store = s
	}
}

// WithMaxBodyBytes caps the body size; a larger body is answered 413.
// Default: DefaultMaxBodyBytes. A value below 1 is refused ([ErrConfig]).
func WithMaxBodyBytes(n int64) Option {
	return func(c *config) { optcheck.Positive(&c.refused, "WithMaxBodyBytes", n, &c.maxBody) }
}

// WithLease sets how long a delivery holds its event in the store while the
// handler runs; if the process dies, the event can be processed again once
// the lease ends. Default: DefaultLease. A value below 1 is refused
// ([ErrConfig]).
func WithLease(d time.Duration) Option {
	return func(c *config) { optcheck.Positive(&c.refused, "WithLease", d, &c.lease) }
}

// WithRetention sets how long a processed event is remembered. Default:
// DefaultRetention. A value below 1 is refused ([ErrConfig]).
func WithRetention(d time.Duration) Option {
	return func(c *config) { optcheck.Positive(&c.refused, "WithRetention", d, &c.retention) }
}

// WithLogger sets the logger for rejections, duplicates and store errors.
// Secrets and signatures are never logged. Default: no logging. A nil
// logger is refused ([ErrConfig]).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { optcheck.NotNil(&c.refused, "WithLogger", l, &c.logger) }
}

// WithClock makes the middleware read the time from now: its rate limit
// and its default store (leases and retention) both follow it, so that a
// test moves every clock the middleware owns at once. A store given with
// [WithStore] keeps its own clock. Default: time.Now. A nil func is
// refused ([ErrConfig]).
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.refused.Add("WithClock(nil)")
			return
		}
		c.now = now
	}
}

// RateLimit limits how often one client may call the middleware, with a
// token bucket per client from golang.org/x/time/rate. Requests over the
// limit are answered 429, with Retry-After: the wait for the client's next
// token, at most an hour. Every request is charged, before its body is
// read; but for a provider that verifies locally ([LocalVerifier]: every
// provider under providers/, KasperoPay with a webhook secret), only the
// requests that fail verification are, so that junk sent from a client's
// address never gets its genuine webhooks answered 429.
type RateLimit struct {
	// Rate is the number of requests per second a client may sustain. A
	// Rate of zero or less refuses every request beyond Burst; use
	// rate.Inf for no limit.
	Rate rate.Limit
	// Burst is how many requests a client may send at once. Default (0):
	// Rate rounded up, at least 1. A negative Burst is refused
	// ([ErrConfig]).
	Burst int
	// Key names a request's client. Default: the IP address of
	// r.RemoteAddr, an IPv6 address by its /64 network. Behind a reverse
	// proxy every request comes from the proxy: return the address it
	// forwards (X-Forwarded-For, X-Real-IP) only if that proxy sets it and
	// clients cannot.
	Key func(r *http.Request) string
	// MaxClients bounds the number of clients tracked at once, so that a
	// spray of addresses cannot exhaust memory; beyond it, clients whose
	// bucket has refilled are forgotten first. Default (0):
	// DefaultMaxClients. A negative MaxClients is refused ([ErrConfig]).
	MaxClients int
}

// WithRateLimit limits each client's requests. Default: no limit.
func WithRateLimit(l RateLimit) Option {
	return func(c *config) {
		if l.Burst < 0 || l.MaxClients < 0 {
			c.refused.Add("WithRateLimit(Burst %d, MaxClients %d): negative", l.Burst, l.MaxClients)
			return
		}
		if l.Burst == 0 {
			l.Burst = max(1, int(math.Ceil(float64(min(l.Rate, 1<<20)))))
		}
		if l.Key == nil {
			l.Key = remoteIP
		}
		if l.MaxClients == 0 {
			l.MaxClients = DefaultMaxClients
		}
		c.rateLimit = &l
	}
}

// remoteIP returns the host part of r.RemoteAddr: an IPv4 address, or the
// /64 network of an IPv6 address, since one host commonly has a whole /64
// and could otherwise take a fresh bucket for every request.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	if !strings.Contains(host, ":") { // IPv4: the common case allocates nothing
		return host
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	if a = a.Unmap(); a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
