package sandbox

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/payhook/payhook/cmd/payhook/internal/ui"
)

//go:embed templates/*.html
var files embed.FS

// css is the sandbox's own rules, served after the pages' base.
//
//go:embed sandbox.css
var css []byte

// pages are the page templates, each with the layout and the shared parts.
var pages = func() map[string]*template.Template {
	funcs := template.FuncMap{
		// field gives a form field its id, unique on the page: prefix-name.
		"field": func(prefix string, f field) any {
			return struct {
				ID string
				F  field
			}{prefix + "-" + f.Name, f}
		},
	}
	return ui.Pages(files, funcs, []string{"templates/parts.html"}, "home", "checkout", "payments", "error")
}()

// form is a form of the pages: its fields, then its buttons. A button with
// a Value submits it as "action".
type form struct {
	Fields  []field
	Buttons []button
}

// field is a labelled input, or a select when it has Options.
type field struct {
	Name, Label, Value, Hint string
	Options                  []string
}

// button is a submit button.
type button struct {
	Value, Label, Class string
}

// detail is a labelled fact about a payment.
type detail struct {
	Label, Value string
}

// errBadAction is a checkout form without a known button.
var errBadAction = errors.New("sandbox: unknown checkout action")

// checkoutPath is p's checkout page.
func checkoutPath(p *payment) string {
	return "/checkout/" + p.provider.name() + "/" + url.PathEscape(p.id)
}

func (s *Sandbox) routes() {
	for _, p := range s.providers {
		p.routes(s.mux)
	}
	s.mux.HandleFunc("GET /{$}", s.home)
	s.mux.HandleFunc("GET /payments", s.paymentsPage)
	s.mux.HandleFunc("GET /sandbox.css", ui.Stylesheet(css))
	s.mux.HandleFunc("POST /checkout/{provider}", sameSite(s.createPayment))
	s.mux.HandleFunc("GET /checkout/{provider}/{id}", s.checkoutPage)
	s.mux.HandleFunc("POST /checkout/{provider}/{id}", sameSite(s.settlePayment))
	s.mux.HandleFunc("POST /deliveries/{n}/resend", sameSite(s.resendDelivery))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, http.StatusNotFound, "There is no page at "+r.URL.Path+".")
	})
}

// sameSite refuses a form posted from another site: a page elsewhere must
// not make the sandbox settle payments or send webhooks to your app.
func sameSite(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cross := false
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
			cross = site != "same-origin" && site != "none"
		} else if o := r.Header.Get("Origin"); o != "" {
			u, err := url.Parse(o)
			cross = err != nil || u.Host != r.Host
		}
		if cross {
			http.Error(w, "Forbidden: a form of another site", http.StatusForbidden)
			return
		}
		h(w, r)
	}
}

// page is what every template gets.
type page struct {
	Title   string
	Refresh bool // a delivery shown is in flight: reload shortly
	Message string
	Base    string

	Providers []providerView // home
	Payment   *paymentView   // checkout
	Payments  []paymentView  // payments
}

type providerView struct {
	Name, Title, Off, Webhook, API, ServeEnv string
	Start                                    form
}

type paymentView struct {
	Provider, Title, ID, Amount, Status, StatusClass string
	Created                                          time.Time
	Details                                          []detail
	Checkout                                         form
	CheckoutURL, ReturnURL                           string
	Deliveries                                       []deliveryView
}

type deliveryView struct {
	ID, ResendOf               int
	URL, Outcome, OutcomeClass string
	Request, Back              string
	Attempts                   []attemptView
}

type attemptView struct {
	N            int
	At           time.Time
	Wait         string
	Answer, Body string
	OK           bool
}

// render writes the page named name with status.
func (s *Sandbox) render(w http.ResponseWriter, status int, name string, p page) {
	if err := ui.Render(w, pages[name], status, p); err != nil {
		s.logger.Error("sandbox: page", "page", name, "error", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
	}
}

// fail writes the error page.
func (s *Sandbox) fail(w http.ResponseWriter, status int, msg string) {
	s.render(w, status, "error", page{Title: http.StatusText(status), Message: msg})
}

// failErr writes the error page for err, as a sentence. err is one of the
// sandbox's own messages for the person at the browser (a form field that
// is wrong, a checkout that is over), never an error from elsewhere.
func (s *Sandbox) failErr(w http.ResponseWriter, status int, err error) {
	msg := err.Error()
	s.fail(w, status, strings.ToUpper(msg[:1])+msg[1:]+".")
}

func (s *Sandbox) home(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
	var views []providerView
	for _, p := range s.providers {
		v := providerView{Name: p.name(), Title: p.title(), Off: p.off(), Webhook: redact(p.webhookURL()),
			API: p.clientBase(base), ServeEnv: p.serveEnv(base)}
		if v.Off == "" {
			v.Start = p.start()
		}
		views = append(views, v)
	}
	s.render(w, http.StatusOK, "home", page{Title: "New payment", Base: base, Providers: views})
}

// provider returns the provider named name.
func (s *Sandbox) provider(name string) (provider, bool) {
	i := slices.IndexFunc(s.providers, func(p provider) bool { return p.name() == name })
	if i < 0 {
		return nil, false
	}
	return s.providers[i], true
}

func (s *Sandbox) createPayment(w http.ResponseWriter, r *http.Request) {
	prov, ok := s.provider(r.PathValue("provider"))
	if !ok {
		s.fail(w, http.StatusNotFound, "There is no provider called "+r.PathValue("provider")+".")
		return
	}
	if err := parseForm(w, r); err != nil {
		s.failErr(w, http.StatusBadRequest, err)
		return
	}
	p, err := prov.create(r.PostForm, s.now())
	if err != nil {
		s.fail(w, http.StatusBadRequest, "The payment was not started: "+err.Error()+".")
		return
	}
	s.add(p)
	http.Redirect(w, r, checkoutPath(p), http.StatusSeeOther)
}

func (s *Sandbox) checkoutPage(w http.ResponseWriter, r *http.Request) {
	var v paymentView
	var flying bool
	found := s.lookup(r.PathValue("provider"), r.PathValue("id"), func(p *payment) {
		v, flying = s.viewLocked(p, r.URL.Path)
	})
	if !found {
		s.fail(w, http.StatusNotFound, "The sandbox knows no such payment. It forgets everything when it stops.")
		return
	}
	s.render(w, http.StatusOK, "checkout", page{Title: v.Title + " checkout", Payment: &v, Refresh: flying})
}

func (s *Sandbox) settlePayment(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.failErr(w, http.StatusBadRequest, err)
		return
	}
	err := s.settle(r.PathValue("provider"), r.PathValue("id"), r.PostForm)
	switch {
	case errors.Is(err, errNotFound):
		s.fail(w, http.StatusNotFound, "The sandbox knows no such payment. It forgets everything when it stops.")
	case errors.Is(err, errBadAction):
		s.fail(w, http.StatusBadRequest, "That is not a button of this checkout.")
	case err != nil:
		s.failErr(w, http.StatusConflict, err)
	default:
		http.Redirect(w, r, r.URL.Path, http.StatusSeeOther)
	}
}

func (s *Sandbox) resendDelivery(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.failErr(w, http.StatusBadRequest, err)
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err == nil {
		_, _, err = s.resend(n)
	}
	if err != nil {
		s.fail(w, http.StatusNotFound, "The sandbox knows no such delivery.")
		return
	}
	back := r.PostForm.Get("back")
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") || strings.Contains(back, `\`) {
		back = "/payments"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (s *Sandbox) paymentsPage(w http.ResponseWriter, r *http.Request) {
	var views []paymentView
	flying := false
	s.mu.Lock()
	now := s.now()
	for i := len(s.order) - 1; i >= 0; i-- { // newest first
		p := s.order[i]
		p.provider.refresh(p, now)
		v, f := s.viewLocked(p, "/payments")
		views, flying = append(views, v), flying || f
	}
	s.mu.Unlock()
	s.render(w, http.StatusOK, "payments", page{Title: "Payments and deliveries", Payments: views, Refresh: flying})
}

// parseForm parses a posted form of at most maxBody bytes.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		return errors.New("the form could not be read")
	}
	return nil
}

// viewLocked describes p for the pages, and reports whether one of its
// deliveries is in flight. back is the page a Resend button returns to.
// s.mu is held.
func (s *Sandbox) viewLocked(p *payment, back string) (paymentView, bool) {
	v := paymentView{
		Provider: p.provider.name(), Title: p.provider.title(), ID: p.id, Amount: p.amount.String() + " " + p.currency, Status: p.status,
		StatusClass: statusClass(p.status), Created: p.created, Details: p.provider.details(p),
		Checkout: p.provider.checkout(p), CheckoutURL: checkoutPath(p),
	}
	if !p.pending {
		v.ReturnURL = p.redirectURL
	}
	flying := false
	for _, d := range p.deliveries {
		dv := deliveryView{ID: d.id, ResendOf: d.resendOf, URL: redact(d.url), Request: d.shown, Back: back + "#delivery-" + strconv.Itoa(d.id)}
		dv.Outcome, dv.OutcomeClass = outcome(d, p.provider.title())
		for i, a := range d.attempts {
			av := attemptView{N: i + 1, At: a.at, OK: a.ok(), Body: a.body}
			if a.wait > 0 {
				av.Wait = a.wait.String()
			}
			switch {
			case a.err != "":
				av.Answer = "No answer: " + a.err
			default:
				av.Answer = strings.TrimSpace(fmt.Sprintf("%d %s", a.status, http.StatusText(a.status)))
			}
			dv.Attempts = append(dv.Attempts, av)
		}
		flying = flying || !d.done
		v.Deliveries = append(v.Deliveries, dv)
	}
	return v, flying
}

// outcome sums a delivery up, with its badge's class.
func outcome(d *delivery, title string) (string, string) {
	n := len(d.attempts)
	switch {
	case !d.done && d.waiting:
		return fmt.Sprintf("In flight: waiting %s before attempt %d", d.nextWait, n+1), "pending"
	case !d.done:
		return fmt.Sprintf("In flight: attempt %d", n+1), "pending"
	case n > 0 && d.attempts[n-1].ok():
		return fmt.Sprintf("Acknowledged on attempt %d", n), "ok"
	case n > 0 && strings.HasPrefix(d.attempts[n-1].err, "not sent"):
		return "Stopped: the sandbox shut down", "bad"
	case d.policy.Retries == 0:
		return fmt.Sprintf("Not acknowledged: %s sends each webhook once, and never again", title), "bad"
	}
	return fmt.Sprintf("Not acknowledged after %d attempts: %s gave up", n, title), "bad"
}

// statusClass is the badge's class for a payment's status.
func statusClass(status string) string {
	switch strings.ToLower(status) {
	case "fulfilled", "success", "completed":
		return "ok"
	case "pending":
		return "pending"
	}
	return "bad"
}
