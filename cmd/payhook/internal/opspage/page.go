package opspage

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/cmd/payhook/internal/redact"
	"github.com/payhook/payhook/cmd/payhook/internal/ui"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/inbox"
)

//go:embed templates/*.html
var files embed.FS

// css is the page's own rules, served after the pages' base.
//
//go:embed opspage.css
var css []byte

var pages = func() map[string]*template.Template {
	funcs := template.FuncMap{
		"split": strings.Fields,
		"when": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04:05")
		},
		"query": func(kv ...string) template.URL {
			v := url.Values{}
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i+1] != "" {
					v.Set(kv[i], kv[i+1])
				}
			}
			if len(v) == 0 {
				return "?"
			}
			return template.URL("?" + v.Encode())
		},
	}
	return ui.Pages(files, funcs, []string{"templates/parts.html"}, "index", "event", "discard", "error")
}()

// Decoder decodes an inbox entry's event (JSON, as the inbox keeps it)
// into the provider's event type, and gives its [payhook.Payment] view.
type Decoder func(event []byte) (payhook.Payment, any, error)

// DecoderOf returns the Decoder of the provider whose event type is E
// (kazawallet.Event, ...).
func DecoderOf[E payhook.Payer]() Decoder {
	return func(b []byte) (payhook.Payment, any, error) {
		var e E
		if err := json.Unmarshal(b, &e); err != nil {
			return payhook.Payment{}, nil, err
		}
		return e.Payment(), e, nil
	}
}

// Page is the operator's page: an http.Handler serving the events of an
// inbox, the dead and overdue ones first, and the rates of the last hour.
// Make one with [New]; it is safe for concurrent use. Mount it at the root
// of a listener only operators reach: its forms replay and discard events.
type Page struct {
	ib       *inbox.Inbox
	lister   Lister
	decoders map[string]Decoder
	names    []string
	expects  expect.Store
	rec      *Recorder
	now      func() time.Time
	logger   *slog.Logger
	refresh  int
	window   int
	handler  http.Handler
}

// Option configures [New].
type Option func(*Page) error

// WithInbox sets the inbox whose events the page lists, and the Lister
// that finds its newest entries (FromInbox(ib, 0) when l is nil). Default:
// none; the page then says that serve keeps no inbox.
func WithInbox(ib *inbox.Inbox, l Lister) Option {
	return func(p *Page) error {
		if ib == nil {
			return errors.New("opspage: WithInbox: nil inbox")
		}
		if l == nil {
			l = FromInbox(ib, 0)
		}
		p.ib, p.lister = ib, l
		return nil
	}
}

// WithProvider sets how the events of the provider name are decoded
// (DecoderOf[kazawallet.Event]()). A provider without one is listed with
// its key only.
func WithProvider(name string, d Decoder) Option {
	return func(p *Page) error {
		if name == "" || d == nil {
			return errors.New("opspage: WithProvider: want a name and a decoder")
		}
		p.decoders[name] = d
		p.names = append(p.names, name)
		return nil
	}
}

// WithExpectations sets the store of expected payments whose overdue ones
// the page lists. Default: none.
func WithExpectations(s expect.Store) Option {
	return func(p *Page) error {
		if s == nil {
			return errors.New("opspage: WithExpectations: nil store")
		}
		p.expects = s
		return nil
	}
}

// WithRecorder sets the Recorder of the rates chart and of the attempts'
// durations. Default: none (no chart).
func WithRecorder(r *Recorder) Option {
	return func(p *Page) error {
		if r == nil {
			return errors.New("opspage: WithRecorder: nil recorder")
		}
		p.rec = r
		return nil
	}
}

// WithClock sets the page's clock. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return func(p *Page) error {
		if now == nil {
			return errors.New("opspage: WithClock: nil clock")
		}
		p.now = now
		return nil
	}
}

// WithLogger sets where the page logs the errors of its backends.
// Default: slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(p *Page) error {
		if l == nil {
			return errors.New("opspage: WithLogger: nil logger")
		}
		p.logger = l
		return nil
	}
}

// WithSearchWindow sets how many entries, the newest first, one search
// reads at most before it offers to search the ones before. Default:
// [SearchWindow].
func WithSearchWindow(n int) Option {
	return func(p *Page) error {
		if n <= 0 {
			return errors.New("opspage: WithSearchWindow: want a positive number")
		}
		p.window = n
		return nil
	}
}

// DefaultRefresh is how often, in seconds, the page reloads itself while
// an event is pending.
const DefaultRefresh = 5

// New returns the page, or an error for an option given a value it cannot
// use.
func New(opts ...Option) (*Page, error) {
	p := &Page{decoders: map[string]Decoder{}, now: time.Now, logger: slog.Default(), refresh: DefaultRefresh, window: SearchWindow}
	for _, o := range opts {
		if err := o(p); err != nil {
			return nil, err
		}
	}
	slices.Sort(p.names)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", p.index)
	mux.HandleFunc("GET /event", p.event)
	mux.HandleFunc("GET /discard", p.confirmDiscard)
	mux.HandleFunc("POST /discard", p.discard)
	mux.HandleFunc("POST /replay", p.replay)
	mux.HandleFunc("GET /opspage.css", ui.Stylesheet(css))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p.fail(w, http.StatusNotFound, "There is no page at "+r.URL.Path+".")
	})
	// A form of another site must not replay or discard events: refused
	// 403 from the browser's Sec-Fetch-Site, or Origin against Host, as
	// the sandbox's pages do.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.fail(w, http.StatusForbidden, "Refused: a form of another site cannot replay or discard events. "+
			"Open this page yourself and press the button here.")
	}))
	p.handler = cop.Handler(mux)
	return p, nil
}

// ServeHTTP implements http.Handler.
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	p.handler.ServeHTTP(w, r)
}

// eventView is one event as the page shows it.
type eventView struct {
	ID, Provider, Key, State string
	Ref, Amount, Currency    string
	Outcome                  string
	RefVouched               bool
	ReceivedAt, UpdatedAt    time.Time
	NextAt                   time.Time
	Attempts, MaxAttempts    int
	LastError, DecodeError   string
	Confirm, Claim           bool
	payment                  payhook.Payment
	decoded                  any
}

// view decodes info's event through its provider's Decoder.
func (p *Page) view(info inbox.Info) eventView {
	v := eventView{
		ID: info.ID, Provider: info.Provider, Key: info.Key, State: info.State.String(),
		ReceivedAt: info.ReceivedAt, UpdatedAt: info.UpdatedAt, NextAt: info.NextAt,
		Attempts: info.Attempts, MaxAttempts: info.MaxAttempts,
		Confirm: info.Confirm, Claim: info.Claim,
	}
	if info.State != inbox.Done {
		// A done entry's last attempt succeeded: an earlier attempt's error
		// is history (the event's page lists it), not the entry's error.
		v.LastError = redact.URLs(info.LastError())
	}
	if info.State == inbox.Running {
		v.State = "pending" // running: an attempt is under way
	}
	d := p.decoders[info.Provider]
	if d == nil {
		v.DecodeError = "no decoder for provider " + info.Provider
		return v
	}
	pay, decoded, err := d(info.Event)
	if err != nil {
		v.DecodeError = "the event does not decode: " + err.Error()
		return v
	}
	v.payment, v.decoded = pay, decoded
	v.Ref, v.RefVouched, v.Currency, v.Outcome = pay.Ref, pay.RefVouched, pay.Currency, string(pay.Outcome)
	if !pay.Amount.IsZero() {
		v.Amount = pay.Amount.String()
	}
	return v
}

// matches reports whether v's key or reference holds search.
func (v eventView) matches(search string) bool {
	s := strings.ToLower(search)
	return strings.Contains(strings.ToLower(v.Key), s) || strings.Contains(strings.ToLower(v.Ref), s)
}

// fail answers status with the error page saying msg.
func (p *Page) fail(w http.ResponseWriter, status int, msg string) {
	p.render(w, status, "error", struct {
		layout
		Message string
	}{layout{Title: http.StatusText(status)}, msg})
}

// internal logs err and answers 500 without its text.
func (p *Page) internal(w http.ResponseWriter, r *http.Request, err error) {
	p.logger.ErrorContext(r.Context(), "payhook: operator's page", "path", r.URL.Path, "error", err)
	p.fail(w, http.StatusInternalServerError, "The inbox or the expectations store did not answer; the log says why. Try again.")
}

// layout is what every template's layout gets.
type layout struct {
	Title   string
	Refresh int // seconds; 0: no reload
	Message string
}

// render writes the page named name, executed with data, with status.
func (p *Page) render(w http.ResponseWriter, status int, name string, data any) {
	if err := ui.Render(w, pages[name], status, data); err != nil {
		p.logger.Error("payhook: operator's page: template", "page", name, "error", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
	}
}

// get returns the entry the form or query names, or answers why not.
func (p *Page) get(w http.ResponseWriter, r *http.Request) (inbox.Info, bool) {
	if p.ib == nil {
		p.fail(w, http.StatusNotFound, noInbox)
		return inbox.Info{}, false
	}
	id := r.FormValue("id")
	info, err := p.ib.Get(r.Context(), id)
	switch {
	case errors.Is(err, inbox.ErrNotFound):
		p.fail(w, http.StatusNotFound, fmt.Sprintf("No event %q in the inbox: discarded, or done and past its retention.", id))
		return inbox.Info{}, false
	case err != nil:
		p.internal(w, r, err)
		return inbox.Info{}, false
	}
	return info, true
}

// noInbox says why a page without an inbox lists nothing.
const noInbox = "serve keeps no inbox: it prints each event as it arrives. Set PAYHOOK_FORWARD_URL to forward events " +
	"to your application through the inbox, and they are listed here."

// messages are the notes shown after an action (?done=...).
var messages = map[string]string{
	"replayed":  "Replayed: the event is pending again and will be forwarded now.",
	"discarded": "Discarded: the event is gone from the inbox.",
}

// context bounds the work of one page.
func (p *Page) context(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 10*time.Second)
}
