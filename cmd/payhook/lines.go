package main

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// lineWriter writes one JSON line per processed event, whole, even when
// deliveries are processed concurrently, and returns only once the line is
// written: an event is acknowledged after its line is out.
//
// It commits in groups, as a database commits its log: the lines of the
// events that arrive while one write is under way gather into the next
// batch, which goes out in one call when that write returns. And when other
// webhook requests are being served at the moment a batch is to be written
// (see track), it first waits for their lines, up to commitDelay, as
// PostgreSQL's commit_delay waits for sibling transactions: under load one
// system call then carries many lines, which is where serve's time went
// (a write to a file or a pipe costs more than verifying a webhook); alone,
// a line is written at once. Each caller gets its own batch's error.
type lineWriter struct {
	w io.Writer

	// active counts the webhook requests being served (track), which may
	// print a line soon.
	active atomic.Int32

	mu      sync.Mutex
	cond    sync.Cond
	pending *batch // the lines waiting for the next write
	writing bool   // a batch is being written, or gathered
	spare   []byte // the buffer of the last batch written, for reuse
	gather  chan struct{}
	delay   time.Duration // commitDelay; tests set others
}

// commitDelay bounds how long a batch waits for the lines of the requests
// being served beside it. It is a fraction of what a webhook's round trip
// costs anyway, and is spent only when other requests are in flight.
const commitDelay = 200 * time.Microsecond

// batch is the lines written by one call of w.Write.
type batch struct {
	buf   []byte
	lines int
	done  bool
	err   error
}

func newLineWriter(w io.Writer) *lineWriter {
	lw := &lineWriter{w: w, pending: &batch{}, gather: make(chan struct{}, 1), delay: commitDelay}
	lw.cond.L = &lw.mu
	return lw
}

// track counts the requests h serves as in flight for the line writer.
func (lw *lineWriter) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lw.active.Add(1)
		defer lw.active.Add(-1)
		h.ServeHTTP(w, r)
	})
}

// write prints v as one JSON line.
func (lw *lineWriter) write(v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return err
	}
	lw.mu.Lock()
	defer lw.mu.Unlock()
	b := lw.pending
	b.buf = append(append(b.buf, line...), '\n')
	b.lines++
	if lw.writing && int32(b.lines) >= lw.active.Load() {
		select { // every request in flight has its line in: no need to wait on
		case lw.gather <- struct{}{}:
		default:
		}
	}
	for !b.done {
		if lw.writing {
			lw.cond.Wait()
			continue
		}
		lw.writing = true
		if int32(b.lines) < lw.active.Load() {
			// Other requests are being served: give them a moment to add
			// their lines to b.
			lw.mu.Unlock()
			t := time.NewTimer(lw.delay)
			select {
			case <-t.C:
			case <-lw.gather:
			}
			t.Stop()
			lw.mu.Lock()
		}
		// Write b, with every line gathered so far, and open the next batch.
		lw.pending = &batch{buf: lw.spare}
		lw.spare = nil
		select { // a gather signal meant for b is not the next batch's
		case <-lw.gather:
		default:
		}
		lw.mu.Unlock()
		_, err := lw.w.Write(b.buf)
		lw.mu.Lock()
		b.done, b.err, lw.writing = true, err, false
		if cap(b.buf) <= 1<<20 {
			lw.spare = b.buf[:0]
		}
		b.buf = nil
		lw.cond.Broadcast()
	}
	return b.err
}
