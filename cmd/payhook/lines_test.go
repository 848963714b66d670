package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowWriter holds each write until the test lets it go, so that lines
// gather into batches; it fails the writes that contain failOn.
type slowWriter struct {
	mu      sync.Mutex
	writes  [][]byte
	entered chan struct{}
	release chan struct{}
	failOn  string
}

func (w *slowWriter) Write(b []byte) (int, error) {
	w.entered <- struct{}{}
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, bytes.Clone(b))
	if w.failOn != "" && bytes.Contains(b, []byte(w.failOn)) {
		return 0, errors.New("disk full")
	}
	return len(b), nil
}

func TestLineWriterGathersConcurrentLinesIntoOneWrite(t *testing.T) {
	w := &slowWriter{entered: make(chan struct{}), release: make(chan struct{}), failOn: `"n":2`}
	lw := newLineWriter(w)
	errs := make([]chan error, 4)
	for i := range errs {
		errs[i] = make(chan error, 1)
	}
	write := func(i int) { errs[i] <- lw.write(map[string]int{"n": i}) }

	go write(0)
	<-w.entered // line 0 is being written, alone
	for i := 1; i < 4; i++ {
		go write(i)
	}
	// Lines 1..3 wait for line 0's write; none of them has returned.
	for i := 1; i < 4; i++ {
		select {
		case err := <-errs[i]:
			t.Fatalf("line %d returned (%v) before it was written", i, err)
		default:
		}
	}
	require.Eventually(t, func() bool {
		lw.mu.Lock()
		defer lw.mu.Unlock()
		return bytes.Count(lw.pending.buf, []byte("\n")) == 3
	}, 10e9, 1e6, "lines 1..3 gather while line 0 is written")
	w.release <- struct{}{}
	require.NoError(t, <-errs[0])
	<-w.entered // one write for lines 1..3
	w.release <- struct{}{}
	for i := 1; i < 4; i++ {
		err := <-errs[i]
		assert.Error(t, err, "line %d was in the batch whose write failed", i)
	}
	require.Len(t, w.writes, 2)
	assert.Equal(t, "{\"n\":0}\n", string(w.writes[0]))
	lines := bytes.Split(bytes.TrimSuffix(w.writes[1], []byte("\n")), []byte("\n"))
	var got []int
	for _, l := range lines {
		var v map[string]int
		require.NoError(t, json.Unmarshal(l, &v), "every line is whole: %q", l)
		got = append(got, v["n"])
	}
	assert.ElementsMatch(t, []int{1, 2, 3}, got)

	go write(0) // a later batch does not inherit the failure
	<-w.entered
	w.release <- struct{}{}
	assert.NoError(t, <-errs[0])
}

func TestLineWriterManyWriters(t *testing.T) {
	var buf bytes.Buffer
	lw := newLineWriter(&buf)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, lw.write(map[string]string{"id": strconv.Itoa(i)}))
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, l := range bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n")) {
		var v map[string]string
		require.NoError(t, json.Unmarshal(l, &v), "%q", l)
		seen[v["id"]] = true
	}
	assert.Len(t, seen, 200)
}

// countingWriter records the lines of each Write.
type countingWriter struct {
	mu     sync.Mutex
	writes []int
}

func (w *countingWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, bytes.Count(b, []byte("\n")))
	return len(b), nil
}

// With another request in flight, a line waits for that request's line, and
// both go out in one write.
func TestLineWriterWaitsForRequestsInFlight(t *testing.T) {
	w := &countingWriter{}
	lw := newLineWriter(w)
	lw.active.Store(2)
	first := make(chan error, 1)
	go func() { first <- lw.write(map[string]int{"n": 1}) }()
	// The first line is gathering (writing is set) until the second comes.
	require.Eventually(t, func() bool {
		lw.mu.Lock()
		defer lw.mu.Unlock()
		return lw.writing
	}, 10*time.Second, time.Microsecond)
	require.NoError(t, lw.write(map[string]int{"n": 2}))
	require.NoError(t, <-first)
	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Equal(t, []int{2}, w.writes, "one write for both lines")
}

// A request in flight that prints nothing delays a line by commitDelay at
// most.
func TestLineWriterWaitIsBounded(t *testing.T) {
	w := &countingWriter{}
	lw := newLineWriter(w)
	lw.active.Store(5)
	done := make(chan error, 1)
	go func() { done <- lw.write(map[string]int{"n": 1}) }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("a line waited for requests that never printed")
	}
	assert.Equal(t, []int{1}, w.writes)
}

// Alone, a line is written at once: with a delay of an hour, a wait would
// hang the test.
func TestLineWriterAloneDoesNotWait(t *testing.T) {
	w := &countingWriter{}
	lw := newLineWriter(w)
	lw.delay = time.Hour
	done := make(chan struct{})
	h := lw.track(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		assert.NoError(t, lw.write(map[string]int{"n": 1}))
		close(done)
	}))
	go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", nil))
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a line with no request beside it waited")
	}
	assert.Equal(t, []int{1}, w.writes)
}
