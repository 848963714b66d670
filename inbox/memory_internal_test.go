package inbox

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

// take runs the entry due the longest first, the first put among entries
// due at once, and a failed entry again once its backoff has passed.
func TestMemoryTakeOrder(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewMemory(WithClock(func() time.Time { return now }))
	for _, id := range []string{"a", "b", "c"} {
		if _, err := m.Put(context.Background(), Entry{ID: id, MaxAttempts: 3}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := RunConfig{Backoff: func(int) time.Duration { return time.Minute }}
	take := func() (Attempt, time.Duration) {
		t.Helper()
		a, ok, wait, _ := m.take(time.Hour)
		if !ok {
			return Attempt{}, wait
		}
		return a, 0
	}
	a, _ := take()
	if a.ID != "a" {
		t.Fatalf("took %q first, want a", a.ID)
	}
	m.finish(a, errors.New("down"), false, cfg) // a is due again in a minute
	for _, want := range []string{"b", "c"} {
		if a, _ := take(); a.ID != want {
			t.Fatalf("took %q, want %q", a.ID, want)
		}
	}
	if a, wait := take(); a.ID != "" || wait != time.Minute {
		t.Fatalf("took %q, wait %v: want nothing for a minute", a.ID, wait)
	}
	now = now.Add(time.Minute)
	if a, _ := take(); a.ID != "a" || a.N != 2 {
		t.Fatalf("took %q attempt %d, want a's second", a.ID, a.N)
	}
}

// BenchmarkMemoryBacklog takes, completes and puts an entry while 10,000
// wait: with the queue a heap, the cost does not grow with the backlog.
func BenchmarkMemoryBacklog(b *testing.B) {
	m := NewMemory()
	ctx := context.Background()
	n := 0
	put := func() {
		n++
		if _, err := m.Put(ctx, Entry{ID: strconv.Itoa(n), MaxAttempts: 1}); err != nil {
			b.Fatal(err)
		}
	}
	for range 10_000 {
		put()
	}
	b.ReportAllocs()
	for b.Loop() {
		a, ok, _, _ := m.take(time.Minute)
		if !ok {
			b.Fatal("nothing due")
		}
		m.finish(a, nil, false, RunConfig{})
		put()
	}
}

// A done entry is forgotten once its retention has passed, at the next
// Put; one replayed and done again meanwhile is not, nor is a dead one.
func TestMemoryForgetsDoneEntries(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewMemory(WithClock(func() time.Time { return now }), WithDoneRetention(time.Hour))
	run := func(id string, err error) {
		t.Helper()
		if _, err := m.Put(ctx, Entry{ID: id, MaxAttempts: 1}); err != nil {
			t.Fatal(err)
		}
		a, ok, _, _ := m.take(time.Minute)
		if !ok || a.ID != id {
			t.Fatalf("took %q, want %q", a.ID, id)
		}
		m.finish(a, err, false, RunConfig{})
	}
	run("done", nil)
	run("replayed", nil)
	run("dead", errors.New("down"))
	now = now.Add(30 * time.Minute)
	if err := m.Replay(ctx, "replayed"); err != nil {
		t.Fatal(err)
	}
	a, ok, _, _ := m.take(time.Minute)
	if !ok || a.ID != "replayed" {
		t.Fatalf("took %q, want the replayed entry", a.ID)
	}
	m.finish(a, nil, false, RunConfig{}) // done again: kept for an hour from now
	now = now.Add(31 * time.Minute)
	run("later", nil)
	for id, want := range map[string]error{"done": ErrNotFound, "replayed": nil, "dead": nil, "later": nil} {
		if _, err := m.Get(ctx, id); !errors.Is(err, want) {
			t.Errorf("Get(%q) = %v, want %v", id, err, want)
		}
	}
	if added, err := m.Put(ctx, Entry{ID: "done", MaxAttempts: 1}); err != nil || !added {
		t.Errorf("Put of a forgotten id: added %v, %v; want a new entry", added, err)
	}
}
