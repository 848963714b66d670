package inbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/payhook/payhook"
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
		ib, err := inbox.New(b, opts...)
		if err != nil {
			t.Fatal(err)
		}
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
}

// TestOptionsRefuseUnusableValues: an option given a value it cannot use
// makes New fail with payhook.ErrConfig, where it used to be ignored.
func TestOptionsRefuseUnusableValues(t *testing.T) {
	tests := map[string][]inbox.Option{
		"WithMaxAttempts(0)":              {inbox.WithMaxAttempts(0)},
		"WithWorkers(-1)":                 {inbox.WithWorkers(-1)},
		"WithTimeout(0)":                  {inbox.WithTimeout(0)},
		"WithBackoff(-1s, 1s)":            {inbox.WithBackoff(-time.Second, time.Second)},
		"WithBackoff(2s, 1s)":             {inbox.WithBackoff(2*time.Second, time.Second)},
		"WithLease(0)":                    {inbox.WithLease(0)},
		"WithLease below the timeout":     {inbox.WithTimeout(time.Minute), inbox.WithLease(time.Second)},
		"WithShutdownTimeout(-1s)":        {inbox.WithShutdownTimeout(-time.Second)},
		"WithMaxUnconfirmed(0)":           {inbox.WithMaxUnconfirmed(0)},
		"WithLease equal to the timeout":  {inbox.WithTimeout(time.Minute), inbox.WithLease(time.Minute)},
		"WithMaxAttempts(0) among others": {inbox.WithWorkers(2), inbox.WithMaxAttempts(0)},
	}
	for name, opts := range tests {
		t.Run(name, func(t *testing.T) {
			ib, err := inbox.New(inbox.NewMemory(), opts...)
			if !errors.Is(err, payhook.ErrConfig) || ib != nil {
				t.Fatalf("New: %v, %v; want nil and payhook.ErrConfig", ib, err)
			}
		})
	}
	if _, err := inbox.New(nil); !errors.Is(err, payhook.ErrConfig) {
		t.Errorf("New(nil): %v, want payhook.ErrConfig", err)
	}
	if _, err := inbox.New(inbox.NewMemory(), inbox.WithShutdownTimeout(0), inbox.WithBackoff(0, 0)); err != nil {
		t.Errorf("zero shutdown timeout and backoff are usable: %v", err)
	}
	for name, opt := range map[string]inbox.MemoryOption{
		"WithDoneRetention(0)": inbox.WithDoneRetention(0),
		"WithClock(nil)":       inbox.WithClock(nil),
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				err, _ := recover().(error)
				if !errors.Is(err, payhook.ErrConfig) {
					t.Errorf("NewMemory(%s) panicked with %v, want payhook.ErrConfig", name, err)
				}
			}()
			inbox.NewMemory(opt)
		})
	}
}

// TestPutBoundsUnconfirmed is issue 17's regression test (§1, inbox side):
// entries with Claim (nothing authenticated their sender) are refused with
// ErrFull beyond WithMaxUnconfirmed, while a second delivery of one already
// there and entries without Claim are still taken; one done frees a place.
func TestPutBoundsUnconfirmed(t *testing.T) {
	ctx := context.Background()
	ib, err := inbox.New(inbox.NewMemory(), inbox.WithMaxUnconfirmed(2), inbox.WithBackoff(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	claim := func(id string) inbox.Entry {
		return inbox.Entry{ID: "test:" + id, Provider: "test", Key: id, Event: []byte(`{}`), Claim: true}
	}
	for _, id := range []string{"a", "b"} {
		if added, err := ib.Put(ctx, claim(id)); err != nil || !added {
			t.Fatalf("Put(%s): %v, %v", id, added, err)
		}
	}
	if added, err := ib.Put(ctx, claim("c")); !errors.Is(err, inbox.ErrFull) || added {
		t.Fatalf("Put beyond the bound: %v, %v; want ErrFull", added, err)
	}
	if added, err := ib.Put(ctx, claim("a")); err != nil || added {
		t.Errorf("Put of one already there, at the bound: %v, %v; want false, nil", added, err)
	}
	confirmed := claim("d")
	confirmed.Claim = false
	if added, err := ib.Put(ctx, confirmed); err != nil || !added {
		t.Errorf("Put of an authenticated entry at the bound: %v, %v", added, err)
	}
	done := make(chan struct{})
	ib.Handle("test", func(ctx context.Context, a inbox.Attempt) error {
		if a.Key == "a" {
			close(done)
			return nil
		}
		return inbox.Permanent(errors.New("down")) // dead: still counted
	})
	running, stop := context.WithCancel(ctx)
	stopped := make(chan error)
	go func() { stopped <- ib.Run(running) }()
	<-done
	stop()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if added, err := ib.Put(ctx, claim("c")); err != nil || !added {
		t.Errorf("Put once one is done: %v, %v; want a new entry", added, err)
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
