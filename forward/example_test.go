package forward_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/payhook/payhook/forward"
)

// An application receiving the events that payhook serve forwards (with
// PAYHOOK_FORWARD_URL and PAYHOOK_FORWARD_SECRET) verifies each request
// and deduplicates on its webhook-id. In another language, use that
// language's Standard Webhooks library with the same secret.
func Example_receivingApplication() {
	secret := forward.NewSecret() // PAYHOOK_FORWARD_SECRET, shared with payhook serve
	key, err := forward.ParseKey(secret)
	if err != nil {
		panic(err)
	}
	seen := map[string]bool{} // in a real app: a unique column in its database
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err := key.Verify(r.Header, body, time.Now(), 0); err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		id := r.Header.Get(forward.HeaderID)
		if !seen[id] {
			seen[id] = true
			fmt.Printf("event %s: %s\n", id, body)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer app.Close()

	// What payhook serve does for each processed event:
	f, _ := forward.New(app.URL, secret)
	record := []byte(`{"provider":"kazawallet","key":"ord_1","event":{"order_id":"ord_1","status":"fulfilled"}}`)
	fmt.Println(f.Send(context.Background(), "kazawallet:ord_1", record))
	fmt.Println(f.Send(context.Background(), "kazawallet:ord_1", record)) // a retry: same id

	forged, _ := forward.New(app.URL, forward.NewSecret())
	fmt.Println(forged.Send(context.Background(), "kazawallet:ord_2", record))
	// Output:
	// event kazawallet:ord_1: {"provider":"kazawallet","key":"ord_1","event":{"order_id":"ord_1","status":"fulfilled"}}
	// <nil>
	// <nil>
	// forward: application answered 401: "invalid signature"
}
