package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"sync/atomic"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
)

// The operator's side, here on the in-memory backend (every backend answers
// the same calls): an entry whose attempts are spent is dead, listed with
// its error, and replayed once the application is fixed.
func ExampleInbox_ReplayDead() {
	ctx := context.Background()
	ib, err := inbox.New(inbox.NewMemory(), inbox.WithMaxAttempts(1))
	if err != nil {
		panic(err)
	}
	kw, err := kazawallet.New("test_api_key", "test_api_secret")
	if err != nil {
		panic(err)
	}
	var fixed atomic.Bool
	results := make(chan payhook.AttemptResult, 1)
	h := payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error {
		if !fixed.Load() {
			return errors.New("orders database down")
		}
		return nil
	}, payhook.WithInbox(ib), payhook.WithObserver(payhook.Observer{
		Attempt: func(_ context.Context, a payhook.Attempt) { results <- a.Result },
	}))
	// run works the inbox until an attempt has ended, then stops it
	// gracefully, as every replica does when told to stop.
	run := func() payhook.AttemptResult {
		running, stop := context.WithCancel(ctx)
		stopped := make(chan error, 1)
		go func() { stopped <- ib.Run(running) }()
		r := <-results
		stop()
		if err := <-stopped; err != nil {
			panic(err)
		}
		return r
	}

	sender := kazawallettest.Sender{APIKey: "test_api_key", APISecret: "test_api_secret"}
	e := kazawallet.Event{OrderID: "ord_123", Amount: payhook.MustAmount("10.00"), Currency: "USD", Type: kazawallet.Fulfilled}
	h.ServeHTTP(httptest.NewRecorder(), sender.Request("/webhooks/kazawallet", e))
	fmt.Println(run())

	dead, err := ib.List(ctx, inbox.Filter{State: inbox.Dead}) // oldest first, with each attempt's error
	if err != nil {
		panic(err)
	}
	for _, d := range dead {
		fmt.Println(d.ID, d.Attempts, d.LastError())
	}
	fixed.Store(true)
	replayed, err := ib.ReplayDead(ctx) // after fixing the application
	fmt.Println(replayed, err)
	fmt.Println(run())

	info, err := ib.Get(ctx, "kazawallet:ord_123")
	fmt.Println(info.State, info.Attempts, err)
	stats, err := ib.Stats(ctx) // entries by provider and state
	fmt.Println(stats, err)
	// Output:
	// dead
	// kazawallet:ord_123 1 orders database down
	// [kazawallet:ord_123] <nil>
	// done
	// done 2 <nil>
	// [{kazawallet done 1}] <nil>
}
