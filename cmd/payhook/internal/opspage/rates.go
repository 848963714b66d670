package opspage

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/payhook/payhook"
)

// Outcomes are the deliveries' outcomes the chart draws, in its order.
var Outcomes = []payhook.Outcome{payhook.Processed, payhook.Duplicate, payhook.Rejected, payhook.Failed}

// minutes is how many minutes the chart spans.
const minutes = 60

// keptDurations is how many entries' attempt durations a Recorder keeps.
const keptDurations = 10_000

// Recorder counts the deliveries of each minute of the last hour by
// outcome, and remembers how long the latest inbox attempts took, from a
// [payhook.Observer]: the same calls that feed /metrics. Make one with
// [NewRecorder]; it is safe for concurrent use. What it holds is this
// process's since it started.
type Recorder struct {
	now func() time.Time

	mu     sync.Mutex
	counts [minutes][4]int // by minute (Unix minute modulo minutes), then outcome
	stamp  [minutes]int64  // the Unix minute each row counts
	// durations of the attempts of the latest entries (provider:key),
	// forgotten oldest first beyond keptDurations.
	durations map[string][]time.Duration
	order     []string
}

// NewRecorder returns a Recorder reading time from now (time.Now when
// nil).
func NewRecorder(now func() time.Time) *Recorder {
	if now == nil {
		now = time.Now
	}
	return &Recorder{now: now, durations: make(map[string][]time.Duration)}
}

// Observer returns the observer that feeds r: give it to the handlers
// with payhook.WithObserver, combined with others by payhook.Observers.
func (r *Recorder) Observer() payhook.Observer {
	return payhook.Observer{
		Delivery: func(_ context.Context, d payhook.Delivery) { r.delivery(d.Outcome) },
		Attempt: func(_ context.Context, a payhook.Attempt) {
			r.attempt(a.Provider+":"+a.Key, a.N, a.Duration)
		},
	}
}

func (r *Recorder) delivery(o payhook.Outcome) {
	i := outcomeIndex(o)
	if i < 0 {
		return // in flight: answered 409, the provider retries
	}
	m := r.now().Unix() / 60
	r.mu.Lock()
	defer r.mu.Unlock()
	row := m % minutes
	if r.stamp[row] > m {
		return // a clock gone back: the row counts a later minute
	}
	if r.stamp[row] != m {
		r.stamp[row], r.counts[row] = m, [4]int{}
	}
	r.counts[row][i]++
}

func outcomeIndex(o payhook.Outcome) int {
	for i, x := range Outcomes {
		if x == o {
			return i
		}
	}
	return -1
}

func (r *Recorder) attempt(id string, n int, d time.Duration) {
	if n < 1 || n > 10_000 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ds, ok := r.durations[id]
	if !ok {
		if len(r.order) >= keptDurations {
			delete(r.durations, r.order[0])
			r.order = r.order[1:]
		}
		r.order = append(r.order, id)
	}
	for len(ds) < n {
		ds = append(ds, -1) // an attempt this process did not see
	}
	ds[n-1] = d
	r.durations[id] = ds
}

// Durations returns how long each attempt of the entry id took, by
// attempt number from 1; -1 for an attempt this process did not see.
func (r *Recorder) Durations(id string) []time.Duration {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.durations[id]...)
}

// Minutes returns the counts of the last 60 minutes, the oldest first
// (the last is the minute now), by outcome in the order of [Outcomes].
func (r *Recorder) Minutes() [][4]int {
	out := make([][4]int, minutes)
	if r == nil {
		return out
	}
	now := r.now().Unix() / 60
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range out {
		m := now - minutes + 1 + int64(i)
		if row := m % minutes; r.stamp[row] == m {
			out[i] = r.counts[row]
		}
	}
	return out
}

// chart is the rates chart as the template draws it.
type chart struct {
	Width, Height int
	Series        []series
	Max           int
	Ticks         []tick
}

type series struct {
	Outcome string
	Points  string // an SVG polyline's points
	Total   int
}

type tick struct {
	X     int
	Label string
}

// Chart dimensions, in SVG units.
const (
	chartWidth  = 600
	chartHeight = 120
	chartPad    = 4
)

// drawChart draws counts (oldest first) as one line per outcome.
func drawChart(counts [][4]int) chart {
	c := chart{Width: chartWidth, Height: chartHeight, Max: 1}
	for _, row := range counts {
		for _, n := range row {
			c.Max = max(c.Max, n)
		}
	}
	step := float64(chartWidth-2*chartPad) / float64(max(len(counts)-1, 1))
	for i, o := range Outcomes {
		var b strings.Builder
		s := series{Outcome: string(o)}
		for j, row := range counts {
			x := float64(chartPad) + step*float64(j)
			y := float64(chartHeight-chartPad) - float64(row[i])*float64(chartHeight-2*chartPad)/float64(c.Max)
			fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
			s.Total += row[i]
		}
		s.Points = strings.TrimSpace(b.String())
		c.Series = append(c.Series, s)
	}
	for _, ago := range []int{60, 45, 30, 15, 0} {
		j := len(counts) - 1 - ago
		if j < 0 {
			j = 0
		}
		label := "now"
		if ago > 0 {
			label = fmt.Sprintf("-%d min", ago)
		}
		c.Ticks = append(c.Ticks, tick{X: chartPad + int(step*float64(j)), Label: label})
	}
	return c
}
