// Package benchtest drives the providers' full-path benchmarks the same
// way: deliveries prepared up front, one request reused, its body read from
// memory, the answer discarded, so that what is measured is payhook's path.
package benchtest

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// Delivery is one webhook of a benchmark: its body and its headers.
type Delivery struct {
	Body   []byte
	Header http.Header
}

// Serve delivers ds to h in turn, one per iteration of b.Loop, as POST
// requests, and fails the benchmark unless each is answered 200 and
// handled reports one call per delivery. It reports allocations.
func Serve(b *testing.B, h http.Handler, ds []Delivery, handled func() int) {
	b.Helper()
	req, err := http.NewRequest(http.MethodPost, "/webhooks", nil)
	if err != nil {
		b.Fatal(err)
	}
	body := bytes.NewReader(nil)
	rc := io.NopCloser(body)
	w := &discardWriter{header: http.Header{}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d := ds[i%len(ds)]
		i++
		body.Reset(d.Body)
		req.Body, req.ContentLength, req.Header = rc, int64(len(d.Body)), d.Header
		w.code = 0
		h.ServeHTTP(w, req)
		if w.code != http.StatusOK {
			b.Fatalf("delivery %d answered %d", i, w.code)
		}
	}
	if n := handled(); n != i {
		b.Fatalf("handler called %d times for %d deliveries", n, i)
	}
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	header http.Header
	code   int
}

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(b), nil
}

func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
