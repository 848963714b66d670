package payhooktest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/payhooktest"
)

// toyRequest is a delivery of toyProvider's, signed with secret.
func toyRequest(secret, id string) *http.Request {
	body := []byte(`{"id":"` + id + `","amount":"10.00"}`)
	r := toyPost(body)
	r.Header.Set("X-Toy-Signature", toySign(secret, body))
	return r
}

// Handler serves deliver.Send's requests with a handler in process. A
// provider that retries (here three more times, a second apart) sends a
// webhook again until it is answered 2xx: a handler that fails twice still
// gets the event. The waits are reported; Policy.Sleep decides whether
// they are waited. The providers' test kits give each provider's Policy
// (kkiapaytest.Sender.Policy).
func ExampleHandler() {
	var app payhooktest.Recorder[toyEvent]
	app.FailNext(2)
	h := payhook.Handle(&toyProvider{secret: "s"}, app.Handle)

	policy := deliver.Policy{Retries: 3, Interval: 1e9}
	res := deliver.Send(payhooktest.Handler(h), toyRequest("s", "pay_1"), policy)
	fmt.Println(res)
	fmt.Println("acknowledged:", res.Acknowledged(), "processed:", len(app.Events()))
	// Output:
	// attempt 1: 500 Internal Server Error: Internal Server Error
	// attempt 2 (after 1s): 500 Internal Server Error: Internal Server Error
	// attempt 3 (after 2s): 200 OK: ok
	// acknowledged: true processed: 1
}

// Five copies of one webhook at once: payhook processes one. The others
// are answered 409 while it runs, or 200 once it is done.
func ExampleDeliverN() {
	var app payhooktest.Recorder[toyEvent]
	h := payhook.Handle(&toyProvider{secret: "s"}, app.Handle)

	answered := 0
	for _, res := range payhooktest.DeliverN(payhooktest.Handler(h), toyRequest("s", "pay_1"), deliver.Policy{}, 5) {
		if s := res.Last().Status; s == http.StatusOK || s == http.StatusConflict {
			answered++
		}
	}
	fmt.Println("answered 200 or 409:", answered, "processed:", len(app.Events()))
	// Output:
	// answered 200 or 409: 5 processed: 1
}

// A Clock runs the middleware and its store: a processed event is
// remembered for the retention, and forgotten once the clock has moved
// past it, without a test sleeping for a week.
func ExampleClock() {
	clock := &payhooktest.Clock{}
	h := payhooktest.Handler(payhook.Handle(&toyProvider{secret: "s"},
		func(ctx context.Context, e toyEvent) error { return nil }, clock.Options()...))
	deliverOne := func() { fmt.Print(deliver.Send(h, toyRequest("s", "pay_1"), deliver.Policy{}).Last().Body) }

	deliverOne()
	deliverOne()
	clock.Advance(payhook.DefaultRetention)
	deliverOne()
	// Output:
	// ok
	// already processed
	// ok
}

// A Recorder is the application: it records the events it processes, and
// fails or holds calls when told to.
func ExampleRecorder() {
	var app payhooktest.Recorder[toyEvent]
	app.FailNext(1)
	h := payhooktest.Handler(payhook.Handle(&toyProvider{secret: "s"}, app.Handle))
	for range 2 {
		fmt.Print(deliver.Send(h, toyRequest("s", "pay_1"), deliver.Policy{}).Last().Body)
	}
	fmt.Println(app.Calls(), "calls,", len(app.Events()), "event:", app.Events()[0].ID)
	fmt.Println(errors.Is(payhooktest.ErrHandlerFailed, payhooktest.ErrHandlerFailed))
	// Output:
	// Internal Server Error
	// ok
	// 2 calls, 1 event: pay_1
	// true
}
