package sandbox

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/payhook/payhook"
)

// Config configures a [Sandbox]. Each provider is on when its part is set;
// see each part for what that takes. The zero Config is a sandbox with
// every provider off.
type Config struct {
	Kazawallet KazawalletConfig
	KKiaPay    KKiaPayConfig
	KasperoPay KasperoPayConfig

	// Transport sends the webhooks. Redirects are not followed, as the
	// providers do not follow them. Default: a clone of
	// http.DefaultTransport that waits at most 30 seconds for an answer.
	Transport http.RoundTripper
	// Sleep waits before a KKiaPay retry, or returns ctx's error when ctx
	// ends first. Default: a real wait. A test gives one that returns at
	// once, or that records the waits.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the sandbox's clock: creation, confirmation and expiry times.
	// Default: time.Now.
	Now func() time.Time
	// Logger gets one line per payment settled and per delivery attempt,
	// never a secret. Default: nothing is logged.
	Logger *slog.Logger
}

// KazawalletConfig is the merchant's Kazawallet account.
type KazawalletConfig struct {
	// APIKey and APISecret are the merchant's credentials, the ones
	// payhook serve verifies with (KAZAWALLET_API_KEY and
	// KAZAWALLET_API_SECRET). createPaymentLink requires the key in
	// x-api-key, and webhooks are signed with both. Both empty: Kazawallet
	// is off. One without the other is an error.
	APIKey, APISecret string
	// Webhook is the merchant's webhook URL. Required when Kazawallet is on.
	Webhook string
}

// KKiaPayConfig is the merchant's KKiaPay account.
type KKiaPayConfig struct {
	// HashSecret is the webhook's hash secret, sent in the x-kkiapay-secret
	// header (KKIAPAY_WEBHOOK_SECRET). Empty: KKiaPay is off.
	HashSecret string
	// PublicKey, PrivateKey and SecretKey are the API keys that the status
	// API requires in x-api-key, x-private-key and x-secret-key
	// (KKIAPAY_PUBLIC_KEY, KKIAPAY_PRIVATE_KEY, KKIAPAY_SECRET_KEY). All
	// three or none: without them the status API refuses every call, as it
	// does wrong keys.
	PublicKey, PrivateKey, SecretKey string
	// Webhook is the merchant's webhook URL. Required when KKiaPay is on.
	Webhook string
}

// KasperoPayConfig is the merchant's KasperoPay account.
type KasperoPayConfig struct {
	// On turns KasperoPay on (KASPEROPAY_ENABLED): it needs no
	// credentials. A WebhookSecret turns it on too.
	On bool
	// WebhookSecret signs each webhook in X-KasperoPay-Signature
	// (KASPEROPAY_WEBHOOK_SECRET). Default: "", unsigned, as KasperoPay
	// sends webhooks unless the merchant sets a secret.
	WebhookSecret string
	// Webhook is the merchant's webhook URL. Required when KasperoPay is on.
	Webhook string
}

// Sandbox is the three providers' APIs, checkout pages and webhook
// deliveries, as an http.Handler. Make one with [New]; it is safe for
// concurrent use. Call Close to stop the deliveries in flight.
type Sandbox struct {
	providers []provider // in the order of the pages
	mux       *http.ServeMux
	transport http.RoundTripper
	sleep     func(ctx context.Context, d time.Duration) error
	now       func() time.Time
	logger    *slog.Logger

	ctx     context.Context // ends with Close: deliveries in flight stop
	cancel  context.CancelFunc
	flights sync.WaitGroup // deliveries in flight

	mu         sync.Mutex
	closed     bool
	payments   map[string]*payment // by provider and id, see key
	order      []*payment          // oldest first
	deliveries []*delivery         // delivery n is deliveries[n-1]
}

// maxPayments bounds the payments a Sandbox remembers: past it, the oldest
// is forgotten with its deliveries.
const maxPayments = 1000

// New returns a Sandbox for cfg. It fails when a provider is half
// configured (a Kazawallet key without its secret, some of KKiaPay's API
// keys but not all, API keys without a hash secret) or when the webhook URL
// of a provider that is on is not an http(s) URL.
func New(cfg Config) (*Sandbox, error) {
	s := &Sandbox{
		transport: cfg.Transport,
		sleep:     cfg.Sleep,
		now:       cfg.Now,
		logger:    cfg.Logger,
		mux:       http.NewServeMux(),
		payments:  map[string]*payment{},
	}
	if s.transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = 30 * time.Second
		s.transport = t
	}
	if s.sleep == nil {
		s.sleep = sleep
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	kw, err := newKazawallet(s, cfg.Kazawallet)
	if err != nil {
		return nil, err
	}
	kk, err := newKKiaPay(s, cfg.KKiaPay)
	if err != nil {
		return nil, err
	}
	kp, err := newKasperoPay(s, cfg.KasperoPay)
	if err != nil {
		return nil, err
	}
	s.providers = []provider{kw, kk, kp}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.routes()
	return s, nil
}

// ServeHTTP serves the APIs and the pages.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops the deliveries in flight (a KKiaPay delivery between two
// attempts stops there) and waits for them. Afterwards no webhook is sent:
// a checkout button still settles its payment, and says that nothing was
// delivered.
func (s *Sandbox) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.flights.Wait()
}

// wait waits for the deliveries in flight, for tests.
func (s *Sandbox) wait() { s.flights.Wait() }

// On reports whether at least one provider is on.
func (s *Sandbox) On() bool {
	return slices.ContainsFunc(s.providers, func(p provider) bool { return p.off() == "" })
}

// Providers lists the providers that are on and, for those that are off,
// why, as lines for the command's start-up message.
func (s *Sandbox) Providers() []string {
	var lines []string
	for _, p := range s.providers {
		if why := p.off(); why != "" {
			lines = append(lines, fmt.Sprintf("%s: off (%s)", p.title(), why))
		} else {
			lines = append(lines, fmt.Sprintf("%s: webhooks to %s", p.title(), redact(p.webhookURL())))
		}
	}
	return lines
}

// provider is one provider, as the sandbox plays it: its API, its checkout
// and its webhook. kazawallet.go, kkiapay.go and kasperopay.go hold one
// each; they are the only files that know a provider package.
type provider interface {
	// name is the provider's name in payhook, as in the webhook routes of
	// payhook serve and in the sandbox's URLs.
	name() string
	// title is the provider's name for people.
	title() string
	// off says why the provider is off, "" when it is on.
	off() string
	// webhookURL is where its webhooks go.
	webhookURL() string
	// clientBase is the base URL its API client takes, given the sandbox's.
	clientBase(base string) string
	// serveEnv is what payhook serve needs to confirm with the sandbox's
	// API, given the sandbox's base URL; "" when it needs nothing.
	serveEnv(base string) string
	// routes mounts its API.
	routes(mux *http.ServeMux)
	// start is the home page's form that starts a payment.
	start() form
	// create starts a payment from that form, or says what is wrong with
	// it.
	create(v url.Values, now time.Time) (*payment, error)
	// checkout is the form of p's checkout page: its buttons while p can
	// still be settled, nothing afterwards.
	checkout(p *payment) form
	// settle presses a checkout button (v's "action") on p, and reports
	// whether a webhook follows.
	settle(p *payment, v url.Values, now time.Time) (bool, error)
	// webhook is p's webhook to target, how the provider delivers it, and
	// the request as the pages show it, without secret or signature ([show]).
	webhook(p *payment, target string) (r *http.Request, how policy, shown string, err error)
	// details describes p on the pages.
	details(p *payment) []detail
	// refresh updates p for the passing of time (a KasperoPay payment
	// expires), before p is read.
	refresh(p *payment, now time.Time)
}

// payment is a payment of any provider. The fields after the first group
// are one provider's; they stay zero for the others.
type payment struct {
	provider provider
	id       string // the provider's id: order_id, transactionId, payment_id
	created  time.Time
	status   string // in the provider's words: fulfilled, SUCCESS, completed...
	pending  bool   // the checkout's buttons are still there
	amount   payhook.Amount
	currency string

	// Kazawallet
	ref, email, redirectURL string
	// KKiaPay
	method, account, reason, partnerID, failureCode string
	performedAt                                     time.Time
	// KasperoPay
	item, orderID, txid    string
	amountUSD              payhook.Amount
	confirmedAt, expiresAt time.Time

	deliveries []*delivery
}

// key is p's key in Sandbox.payments.
func key(provider, id string) string { return provider + "/" + id }

// add records a new payment, forgetting the oldest, with its deliveries,
// past maxPayments.
func (s *Sandbox) add(p *payment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.payments[key(p.provider.name(), p.id)] = p
	s.order = append(s.order, p)
	if len(s.order) > maxPayments {
		old := s.order[0]
		s.order[0] = nil
		s.order = s.order[1:]
		delete(s.payments, key(old.provider.name(), old.id))
		for _, d := range old.deliveries {
			s.deliveries[d.id-1] = nil // its number stays taken
		}
	}
}

// lookup calls f with the payment of provider with id, under the lock,
// after refreshing it; it reports whether there was one.
func (s *Sandbox) lookup(provider, id string, f func(p *payment)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[key(provider, id)]
	if ok {
		p.provider.refresh(p, s.now())
		f(p)
	}
	return ok
}

// errNotFound is a payment or delivery the sandbox does not know.
var errNotFound = errors.New("sandbox: not found")

// settle presses a checkout button on the payment of provider with id, and
// delivers its webhook when one follows.
func (s *Sandbox) settle(provider, id string, v url.Values) error {
	s.mu.Lock()
	p, ok := s.payments[key(provider, id)]
	if !ok {
		s.mu.Unlock()
		return errNotFound
	}
	now := s.now()
	p.provider.refresh(p, now)
	var send bool
	var err error
	if p.pending {
		send, err = p.provider.settle(p, v, now)
	} else {
		err = fmt.Errorf("this payment is %s already: its checkout is over", p.status)
	}
	var d *delivery
	if err == nil && send {
		d, err = s.newDeliveryLocked(p, 0)
	}
	status := p.status
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.logger.Info("sandbox: payment settled", "provider", provider, "id", id, "status", status)
	if d != nil {
		s.start(d)
	}
	return nil
}

// randomID returns n characters drawn from alphabet.
func randomID(n int, alphabet string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

const (
	alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	hexa  = "0123456789abcdef"
)

// checkWebhook checks a webhook URL: an absolute http(s) URL. The error
// does not repeat it, since it may hold a password.
func checkWebhook(provider, u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("sandbox: %s: the webhook URL is not an http(s) URL such as http://localhost:8080/webhooks/%s", provider, provider)
	}
	return nil
}

// redact returns u with its password, if any, replaced by "xxxxx".
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.Redacted()
}

// positive parses s as an amount above zero.
func positive(field, s string) (payhook.Amount, error) {
	a, err := payhook.ParseAmount(strings.TrimSpace(s))
	if err != nil || a.Cmp(payhook.MustAmount("0")) <= 0 {
		return payhook.Amount{}, fmt.Errorf("%s must be an amount above zero, such as 10.00", field)
	}
	return a, nil
}
