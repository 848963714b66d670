package main

import (
	"encoding/json"
	"io"
	"sync"
)

// lineWriter writes one JSON line per processed event, whole, even when
// deliveries are processed concurrently, and returns only once the line is
// written: an event is acknowledged after its line is out.
//
// It commits in groups: while one write is under way, the lines of the
// events that arrive meanwhile gather into the next batch, which the first
// of them writes in one call when that write returns. Under load one
// system call then carries many lines; alone, a line is written at once,
// as soon as it would have been with a mutex. Each caller gets its own
// batch's error.
type lineWriter struct {
	w io.Writer

	mu      sync.Mutex
	cond    sync.Cond
	pending *batch // the lines waiting for the next write
	writing bool   // a batch is being written
	spare   []byte // the buffer of the last batch written, for reuse
}

// batch is the lines written by one call of w.Write.
type batch struct {
	buf  []byte
	done bool
	err  error
}

func newLineWriter(w io.Writer) *lineWriter {
	lw := &lineWriter{w: w, pending: &batch{}}
	lw.cond.L = &lw.mu
	return lw
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
	for !b.done {
		if lw.writing {
			lw.cond.Wait()
			continue
		}
		// Write b, with every line gathered so far, and open the next batch.
		lw.writing = true
		lw.pending = &batch{buf: lw.spare}
		lw.spare = nil
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
