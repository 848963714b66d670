package deliver_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/payhook/payhook/deliver"
)

// A receiver that answers 503 twice: a provider that retries three times,
// a second apart (more each time), gets its third attempt acknowledged.
// Sleep is nil, so the waits are reported but not waited; deliver.Sleep
// waits them.
func ExampleSend() {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	defer srv.Close()

	r, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/acme", strings.NewReader(`{"id":"pay_1"}`))
	res := deliver.Send(http.DefaultTransport, r, deliver.Policy{Retries: 3, Interval: time.Second})
	fmt.Println(res)
	fmt.Println("acknowledged:", res.Acknowledged())
	// Output:
	// attempt 1: 503 Service Unavailable: busy
	// attempt 2 (after 1s): 503 Service Unavailable: busy
	// attempt 3 (after 2s): 200 OK: ok
	// acknowledged: true
}
