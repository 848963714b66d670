package inbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/inboxtest"
)

func TestMemoryConformance(t *testing.T) {
	inboxtest.Run(t, func(t *testing.T) inboxtest.Harness {
		return inboxtest.Harness{Backend: inbox.NewMemory()}
	})
}

func TestMemoryConformanceErrorForm(t *testing.T) {
	if err := inboxtest.Test(func() (inboxtest.Harness, error) {
		return inboxtest.Harness{Backend: inbox.NewMemory()}, nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestLeaseOption(t *testing.T) {
	var got inbox.RunConfig
	capture := func(opts ...inbox.Option) inbox.RunConfig {
		b := &configBackend{Memory: inbox.NewMemory(), cfg: &got}
		ib := inbox.New(b, opts...)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = ib.Run(ctx)
		return got
	}
	if c := capture(); c.Lease != 2*time.Minute || c.Timeout != time.Minute {
		t.Errorf("default lease %s with timeout %s, want 2m and 1m", c.Lease, c.Timeout)
	}
	if c := capture(inbox.WithTimeout(time.Second)); c.Lease != time.Minute {
		t.Errorf("lease %s with a 1s timeout, want the 1m floor", c.Lease)
	}
	if c := capture(inbox.WithTimeout(time.Second), inbox.WithLease(5*time.Second)); c.Lease != 5*time.Second {
		t.Errorf("WithLease(5s): lease %s", c.Lease)
	}
	if c := capture(inbox.WithTimeout(time.Minute), inbox.WithLease(time.Second)); c.Lease != 2*time.Minute {
		t.Errorf("WithLease below the timeout: lease %s, want it ignored", c.Lease)
	}
}

// configBackend records the RunConfig Run is given.
type configBackend struct {
	*inbox.Memory
	cfg *inbox.RunConfig
}

func (b *configBackend) Run(ctx context.Context, h inbox.Handler, cfg inbox.RunConfig) error {
	*b.cfg = cfg
	return b.Memory.Run(ctx, h, cfg)
}
