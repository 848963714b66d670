package opspage

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/payhook/payhook/cmd/payhook/internal/redact"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/inbox"
)

// Bounds of the index page.
const (
	// PageSize is how many events the list shows at once.
	PageSize = 50
	// deadShown is how many dead events the top of the page shows.
	deadShown = 20
	// countMost is the most a count of dead, pending or overdue events
	// reads ("1000+").
	countMost = 1000
	// SearchWindow is how many entries, the newest first, one search
	// reads at most, so that it answers at once with any number of
	// events in the store (no backend indexes the event's text); the
	// page then links to a search of the SearchWindow before them.
	SearchWindow = 5000
	searchBatch  = 500
)

// indexPage is the index's data.
type indexPage struct {
	layout
	NoInbox string

	Dead               []eventView
	DeadCount, Pending count
	Overdue            []overdueView
	OverdueCount       count
	HasExpectations    bool
	Chart              *chart

	Providers               []string
	Provider, State, Search string
	Events                  []eventView
	Next                    string // the cursor of the next page
	Scanned                 int    // the entries the search's window held
	Window                  bool   // the search stopped at the end of its window
	After                   string // the cursor this page started from
}

// count is a count that may have reached its bound.
type count struct {
	N    int
	More bool
}

func countOf(n, most int) count { return count{N: n, More: n >= most} }

// overdueView is an overdue expectation and what to check.
type overdueView struct {
	expect.Expectation
	Check string
}

func (p *Page) index(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := p.context(r)
	defer cancel()
	data := indexPage{layout: layout{Title: "payhook", Message: messages[r.FormValue("done")]}, Providers: p.names}
	var err error
	if p.expects != nil {
		data.HasExpectations = true
		if data.Overdue, data.OverdueCount, err = p.overdue(r); err != nil {
			p.internal(w, r, err)
			return
		}
	}
	if p.rec != nil {
		c := drawChart(p.rec.Minutes())
		data.Chart = &c
	}
	if p.ib == nil {
		data.NoInbox = noInbox
		p.render(w, http.StatusOK, "index", data)
		return
	}
	q, cursor, problem := queryOf(r)
	if problem != "" {
		p.fail(w, http.StatusBadRequest, problem)
		return
	}
	data.Provider, data.Search, data.After = q.Provider, q.Search, cursor
	if q.State != 0 {
		data.State = q.State.String()
	}
	n, err := p.lister.Count(ctx, inbox.Dead, countMost)
	if err == nil {
		data.DeadCount = countOf(n, countMost)
		n, err = p.lister.Count(ctx, inbox.Pending, countMost)
		data.Pending = countOf(n, countMost)
	}
	if err == nil && data.DeadCount.N > 0 {
		data.Dead, _, _, _, err = p.events(r, Query{State: inbox.Dead}, "", deadShown)
	}
	if err == nil {
		data.Events, data.Next, data.Scanned, data.Window, err = p.events(r, q, cursor, PageSize)
	}
	if errors.Is(err, ErrCursor) {
		p.fail(w, http.StatusBadRequest, "This link to older events is not one of this page's: start from the latest events.")
		return
	}
	if err != nil {
		p.internal(w, r, err)
		return
	}
	if data.Pending.N > 0 {
		data.Refresh = p.refresh
	}
	p.render(w, http.StatusOK, "index", data)
}

// queryOf reads the index's filters and cursor, or says what is wrong
// with them.
func queryOf(r *http.Request) (q Query, cursor, problem string) {
	q = Query{Provider: r.FormValue("provider"), Search: strings.TrimSpace(r.FormValue("q"))}
	switch s := r.FormValue("state"); s {
	case "", "all":
	case "done", "pending", "dead":
		q.State, _ = inbox.ParseState(s)
	default:
		return q, "", "Unknown state " + s + ": pick done, pending or dead."
	}
	if len(q.Search) > 200 {
		return q, "", "The search is too long: a key or a reference is at most 200 characters."
	}
	return q, r.FormValue("after"), ""
}

// events returns up to limit events that q selects after cursor, newest
// first, and the cursor of the next page ("" when there is none). A search
// reads at most SearchWindow entries (window then reports that it stopped
// there, and scanned how many it read), keeping those whose key or decoded
// reference holds it; on the first page, an event whose key is the search
// is found wherever it lies, through the inbox's Get.
func (p *Page) events(r *http.Request, q Query, cursor string, limit int) (out []eventView, next string, scanned int, window bool, err error) {
	ctx, cancel := p.context(r)
	defer cancel()
	batch := limit + 1 // one more: is there a next page?
	var exact []eventView
	if q.Search != "" {
		batch, q.Window = searchBatch, p.window
		if cursor == "" {
			if exact, err = p.exactKey(ctx, q); err != nil {
				return nil, "", 0, false, err
			}
			out = exact
		}
	}
	for {
		found, err := p.lister.Latest(ctx, q, cursor, batch)
		if err != nil {
			return nil, "", 0, false, err
		}
		for _, f := range found {
			if f.ID == "" { // the end of the search's window
				return out, f.Cursor, f.Searched, true, nil
			}
			if slices.ContainsFunc(exact, func(v eventView) bool { return v.ID == f.ID }) {
				cursor = f.Cursor
				continue // listed first
			}
			info, err := p.info(ctx, f)
			if errors.Is(err, inbox.ErrNotFound) {
				cursor = f.Cursor
				continue // done and cleaned up, or discarded, since
			}
			if err != nil {
				return nil, "", 0, false, err
			}
			v := p.view(info)
			if q.Search != "" && !v.matches(q.Search) {
				cursor = f.Cursor
				continue
			}
			if len(out) >= limit {
				return out, cursor, 0, false, nil
			}
			out, cursor = append(out, v), f.Cursor
		}
		if len(found) < batch {
			return out, "", 0, false, nil
		}
		if q.Search != "" {
			// A window of matches (a search everyone holds): the next
			// page searches on from the last.
			return out, cursor, 0, false, nil
		}
	}
}

// exactKey returns the events whose key is q.Search, of q's provider and
// state: each provider's entry ID is "provider:key", which every inbox
// finds at once.
func (p *Page) exactKey(ctx context.Context, q Query) ([]eventView, error) {
	var out []eventView
	for _, name := range p.names {
		if q.Provider != "" && q.Provider != name {
			continue
		}
		info, err := p.ib.Get(ctx, name+":"+q.Search)
		if errors.Is(err, inbox.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if s := info.State; q.State == 0 || s == q.State || (q.State == inbox.Pending && s == inbox.Running) {
			out = append(out, p.view(info))
		}
	}
	return out, nil
}

// overdue returns the overdue expectations, the soonest deadline first.
func (p *Page) overdue(r *http.Request) ([]overdueView, count, error) {
	ctx, cancel := p.context(r)
	defer cancel()
	xs, err := p.expects.List(ctx, expect.Filter{State: expect.Overdue, Limit: countMost})
	if err != nil {
		return nil, count{}, err
	}
	var out []overdueView
	for _, x := range xs[:min(len(xs), deadShown)] {
		out = append(out, overdueView{Expectation: x, Check: checkAt(x)})
	}
	return out, countOf(len(xs), countMost), nil
}

// checkAt says what the operator checks at the provider for an overdue
// expectation.
func checkAt(x expect.Expectation) string {
	id := x.ID
	if id == "" {
		id = "the payment with reference " + x.Ref
	}
	cancel := " Once you know, settle the order by hand and run payhook expect cancel " + x.Provider + " " + or(x.ID, x.Ref) + "."
	switch x.Provider {
	case "kazawallet":
		return "Kazawallet has no status API: find " + id + " in the Kazawallet dashboard. If it was paid, its webhook was lost." + cancel
	case "kkiapay":
		return "Look up transaction " + id + " in the KKiaPay dashboard (or POST /api/v1/transactions/status): " +
			"the reconciler polled it until the deadline and KKiaPay gave no final status." + cancel
	case "kasperopay":
		return "Look up payment " + id + " at KasperoPay (GET /pay/status/" + x.ID + "): " +
			"the reconciler polled it until the deadline and it was neither completed nor expired." + cancel
	}
	return "Look up " + id + " in the provider's dashboard." + cancel
}

// attemptView is one attempt on the event's page.
type attemptView struct {
	N        int
	At       time.Time
	Answer   string
	OK       bool
	Duration string
}

// eventPage is the event page's data.
type eventPage struct {
	layout
	Event    eventView
	Attempts []attemptView
	Decoded  string
	Payment  string
	// Unknown: an attempt's duration is not known. No inbox keeps how
	// long an attempt took (only when it ended): the durations are those
	// this process's Recorder saw.
	Unknown bool
}

func (p *Page) event(w http.ResponseWriter, r *http.Request) {
	info, ok := p.get(w, r)
	if !ok {
		return
	}
	v := p.view(info)
	data := eventPage{layout: layout{Title: v.Provider + " " + v.Key, Message: messages[r.FormValue("done")]}, Event: v,
		Attempts: p.attempts(info)}
	for _, a := range data.Attempts {
		data.Unknown = data.Unknown || a.Duration == ""
	}
	if v.decoded != nil {
		b, _ := json.MarshalIndent(v.decoded, "", "  ")
		data.Decoded = string(b)
		b, _ = json.MarshalIndent(v.payment, "", "  ")
		data.Payment = string(b)
	}
	if info.State == inbox.Pending || info.State == inbox.Running {
		data.Refresh = p.refresh
	}
	p.render(w, http.StatusOK, "event", data)
}

// attempts lists info's attempts: each failed one with its error, and the
// last one of a done entry as accepted; with their durations when this
// process's Recorder saw them.
func (p *Page) attempts(info inbox.Info) []attemptView {
	durations := p.rec.Durations(info.ID)
	var out []attemptView
	add := func(a attemptView) {
		if a.N >= 1 && a.N <= len(durations) && durations[a.N-1] >= 0 {
			a.Duration = roundDuration(durations[a.N-1]).String()
		}
		out = append(out, a)
	}
	for _, e := range info.Errors {
		add(attemptView{N: e.Attempt, At: e.At, Answer: redact.URLs(e.Error)})
	}
	switch info.State {
	case inbox.Done:
		add(attemptView{N: info.Attempts, At: info.UpdatedAt, Answer: "accepted (2xx): done", OK: true})
	case inbox.Running:
		add(attemptView{N: info.Attempts, At: info.UpdatedAt, Answer: "running now"})
	}
	return out
}

func (p *Page) replay(w http.ResponseWriter, r *http.Request) {
	info, ok := p.get(w, r)
	if !ok {
		return
	}
	if info.State != inbox.Dead {
		p.fail(w, http.StatusConflict, "Only a dead event is replayed here; this one is "+info.State.String()+
			". Replaying a done event would deliver it to your application a second time: payhook inbox replay does it, with --force.")
		return
	}
	if !p.applied(w, r, p.ib.Replay(r.Context(), info.ID)) {
		return
	}
	seeOther(w, "event?"+url.Values{"id": {info.ID}, "done": {"replayed"}}.Encode())
}

func (p *Page) confirmDiscard(w http.ResponseWriter, r *http.Request) {
	info, ok := p.get(w, r)
	if !ok {
		return
	}
	p.render(w, http.StatusOK, "discard", struct {
		layout
		Event eventView
	}{layout{Title: "Discard " + info.Provider + " " + info.Key + "?"}, p.view(info)})
}

func (p *Page) discard(w http.ResponseWriter, r *http.Request) {
	info, ok := p.get(w, r)
	if !ok {
		return
	}
	if r.FormValue("confirm") != "discard" {
		p.confirmDiscard(w, r) // asked once more: the form says what it costs
		return
	}
	if info.State != inbox.Dead {
		p.fail(w, http.StatusConflict, "Only a dead event is discarded here; this one is "+info.State.String()+".")
		return
	}
	if !p.applied(w, r, p.ib.Discard(r.Context(), info.ID)) {
		return
	}
	p.logger.WarnContext(r.Context(), "payhook: an event was discarded from the operator's page", "provider", info.Provider, "key", info.Key)
	seeOther(w, "./?done=discarded")
}

// applied reports whether err, of a Replay or a Discard, is nil. When it
// is not, it has answered: 409 when the entry changed state meanwhile,
// else 500.
func (p *Page) applied(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, inbox.ErrState):
		p.fail(w, http.StatusConflict, "The event changed state meanwhile; reload the page.")
	default:
		p.internal(w, r, err)
	}
	return false
}

// seeOther redirects to the relative URL to, which the browser resolves
// against the page's own URL, wherever the page is mounted.
func seeOther(w http.ResponseWriter, to string) {
	w.Header().Set("Location", to)
	w.WriteHeader(http.StatusSeeOther)
}

// info returns the entry f found: as the Lister read it, or from the inbox.
func (p *Page) info(ctx context.Context, f Found) (inbox.Info, error) {
	if f.Info != nil {
		return *f.Info, nil
	}
	return p.ib.Get(ctx, f.ID)
}

// roundDuration keeps a duration's first significant digits: 1.234s,
// 12ms, 312µs.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
