package payhooktest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/payhook/payhook/deliver"
)

// Handler returns a RoundTripper that serves each request with h, in
// process, as a server would: for [deliver.Send] and [DeliverN] to a
// handler, or as an http.Client's Transport. Requests without a RemoteAddr
// or RequestURI get httptest.NewRequest's. A panic in h is returned as an
// error, as net/http closes the connection of a handler that panics.
func Handler(h http.Handler) http.RoundTripper { return handlerTransport{h} }

type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (res *http.Response, err error) {
	r = r.Clone(r.Context())
	if r.RequestURI == "" {
		r.RequestURI = r.URL.RequestURI()
	}
	if r.RemoteAddr == "" {
		r.RemoteAddr = "192.0.2.1:1234"
	}
	if r.Host == "" {
		r.Host = "example.com"
	}
	if r.Body == nil {
		r.Body = http.NoBody
	}
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("payhooktest: handler panicked: %v", p)
		}
	}()
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	return w.Result(), nil
}

// DeliverN makes n deliveries of r at once, each as [deliver.Send] makes
// it, from n goroutines released together, and returns their results in
// the order they were started. It tests what concurrent duplicates do:
// with payhook, one is processed and the others are answered 409 (still
// in flight) or 200 (already processed). A copy answered 409 under a
// retrying Policy retries at once when p.Sleep is nil, likely before the
// first copy is done; with deliver.Sleep it waits as the provider would.
func DeliverN(rt http.RoundTripper, r *http.Request, p deliver.Policy, n int) []deliver.Result {
	r = resendable(r)
	results := make([]deliver.Result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range n {
		go func() {
			defer wg.Done()
			<-start
			results[i] = deliver.Send(rt, r, p)
		}()
	}
	close(start)
	wg.Wait()
	return results
}

// resendable returns r, or a copy of it whose body can be read again
// (GetBody set) when r's cannot.
func resendable(r *http.Request) *http.Request {
	if r.GetBody != nil || r.Body == nil || r.Body == http.NoBody {
		return r
	}
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	c := r.Clone(r.Context())
	c.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), err }
	c.Body, _ = c.GetBody()
	return c
}
