package acmepay

import "time"

// DefaultTolerance is how far a signature's time may be from now.
const DefaultTolerance = 5 * time.Minute

// Option configures [New].
type Option func(*config)

type config struct {
	secrets   []string
	tolerance time.Duration
	now       func() time.Time
}

func newConfig(opts []Option) config {
	c := config{tolerance: DefaultTolerance, now: time.Now}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// WithSecrets adds webhook secrets that [New] accepts besides its first
// argument, while rotating the secret. An empty one makes New fail with
// payhook.ErrConfig. Default: only New's.
func WithSecrets(more ...string) Option {
	return func(c *config) { c.secrets = append(c.secrets, more...) }
}

// WithTolerance sets how far a signature's time may be from now, either
// way. Values below 1 are ignored. Default: DefaultTolerance.
func WithTolerance(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.tolerance = d
		}
	}
}

// WithClock makes the Provider read the time from now, for tests. nil is
// ignored. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}
