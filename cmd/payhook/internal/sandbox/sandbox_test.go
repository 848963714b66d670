package sandbox

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

// The merchant's test credentials.
const (
	kwKey, kwSecret      = "test_api_key", "test_api_secret"
	kkHash               = "kkiapay_hash_secret"
	kkPub, kkPriv, kkSec = "pk_sandbox_test", "tpk_sandbox_test", "tsk_sandbox_test"
	kpSecret             = "kasperopay_webhook_secret"
)

// fixture is a sandbox on an httptest server, delivering to a merchant
// that is payhook itself: each provider verified as payhook serve verifies
// it, confirmations made with the sandbox's APIs.
type fixture struct {
	t        *testing.T
	sb       *Sandbox
	srv      *httptest.Server
	merchant *http.ServeMux // the merchant's routes; /webhooks/<name> by default
	mURL     string
	cfg      Config
	clock    *payhooktest.Clock

	mu     sync.Mutex
	waits  []time.Duration // what KKiaPay's retries waited
	events []any           // what the merchant processed
}

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newFixture starts a sandbox with every provider on; change lets a test
// change the config first, given the merchant's URL.
func newFixture(t *testing.T, change ...func(c *Config, merchant string)) *fixture {
	t.Helper()
	f := &fixture{t: t, merchant: http.NewServeMux(), clock: payhooktest.NewClock(start)}
	msrv := httptest.NewServer(f.merchant)
	t.Cleanup(msrv.Close)
	f.mURL = msrv.URL
	cfg := Config{
		Kazawallet: KazawalletConfig{APIKey: kwKey, APISecret: kwSecret, Webhook: msrv.URL + "/webhooks/kazawallet"},
		KKiaPay: KKiaPayConfig{HashSecret: kkHash, PublicKey: kkPub, PrivateKey: kkPriv, SecretKey: kkSec,
			Webhook: msrv.URL + "/webhooks/kkiapay"},
		KasperoPay: KasperoPayConfig{On: true, WebhookSecret: kpSecret, Webhook: msrv.URL + "/webhooks/kasperopay"},
		Now:        f.clock.Now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			f.mu.Lock()
			f.waits = append(f.waits, d)
			f.mu.Unlock()
			return ctx.Err()
		},
	}
	for _, c := range change {
		c(&cfg, msrv.URL)
	}
	sb, err := New(cfg)
	require.NoError(t, err)
	f.sb, f.cfg = sb, cfg
	f.srv = httptest.NewServer(sb)
	t.Cleanup(func() { f.srv.Close(); sb.Close() })
	f.mountMerchant()
	return f
}

// mountMerchant mounts payhook's handlers for the three providers on the
// merchant's routes, with the sandbox's credentials, confirming with the
// sandbox's APIs.
func (f *fixture) mountMerchant() {
	t := f.t
	kw, err := kazawallet.New(kwKey, kwSecret)
	require.NoError(t, err)
	kkc, err := kkiapay.NewClient(kkPub, kkPriv, kkSec, kkiapay.WithBaseURL(f.srv.URL))
	require.NoError(t, err)
	kk, err := kkiapay.New(kkHash, kkiapay.WithConfirmation(kkc))
	require.NoError(t, err)
	kpc, err := kasperopay.NewClient(kasperopay.WithBaseURL(f.srv.URL))
	require.NoError(t, err)
	kpOpts := []kasperopay.Option{kasperopay.WithConfirmation(kpc), kasperopay.WithClock(f.clock.Now)}
	if s := f.cfg.KasperoPay.WebhookSecret; s != "" {
		kpOpts = append(kpOpts, kasperopay.WithSecrets(s))
	}
	kp, err := kasperopay.New(kpOpts...)
	require.NoError(t, err)
	f.merchant.Handle("POST /webhooks/kazawallet", payhook.Handle(kw, record[kazawallet.Event](f)))
	f.merchant.Handle("POST /webhooks/kkiapay", payhook.Handle(kk, record[kkiapay.Event](f)))
	f.merchant.Handle("POST /webhooks/kasperopay", payhook.Handle(kp, record[kasperopay.Event](f)))
}

func record[E any](f *fixture) func(context.Context, E) error {
	return func(_ context.Context, e E) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.events = append(f.events, e)
		return nil
	}
}

// processed returns the events of type E the merchant processed.
func processed[E any](f *fixture) []E {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []E
	for _, e := range f.events {
		if e, ok := e.(E); ok {
			out = append(out, e)
		}
	}
	return out
}

func (f *fixture) recordedWaits() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.waits...)
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// post posts a form to path and returns the answer's status, Location and
// body.
func (f *fixture) post(path string, v url.Values, header ...string) (int, string, string) {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+path, strings.NewReader(v.Encode()))
	require.NoError(f.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := noRedirect.Do(req)
	require.NoError(f.t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(b)
}

func (f *fixture) get(path string) (int, string) {
	f.t.Helper()
	res, err := http.Get(f.srv.URL + path)
	require.NoError(f.t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// begin starts a payment of provider from the home page's form, and
// returns its checkout page's path.
func (f *fixture) begin(provider string, v url.Values) string {
	f.t.Helper()
	status, loc, body := f.post("/checkout/"+provider, v)
	require.Equal(f.t, http.StatusSeeOther, status, body)
	require.True(f.t, strings.HasPrefix(loc, "/checkout/"+provider+"/"), loc)
	return loc
}

// press presses a checkout button and waits for the webhook's delivery.
func (f *fixture) press(checkout, action string, more ...string) {
	f.t.Helper()
	v := url.Values{"action": {action}}
	for i := 0; i+1 < len(more); i += 2 {
		v.Set(more[i], more[i+1])
	}
	status, loc, body := f.post(checkout, v)
	require.Equal(f.t, http.StatusSeeOther, status, body)
	require.Equal(f.t, checkout, loc)
	f.sb.wait()
}

// delivered returns copies of the deliveries of the payment at checkout.
func (f *fixture) delivered(checkout string) []delivery {
	f.t.Helper()
	parts := strings.Split(checkout, "/") // "", "checkout", provider, id
	var out []delivery
	found := f.sb.lookup(parts[2], parts[3], func(p *payment) {
		for _, d := range p.deliveries {
			c := *d
			c.attempts = append([]attempt(nil), d.attempts...)
			out = append(out, c)
		}
	})
	require.True(f.t, found, checkout)
	return out
}

func statuses(d delivery) []int {
	var s []int
	for _, a := range d.attempts {
		s = append(s, a.status)
	}
	return s
}

func waitsOf(d delivery) []time.Duration {
	var w []time.Duration
	for _, a := range d.attempts {
		w = append(w, a.wait)
	}
	return w
}

func TestNewRefusesHalfConfigured(t *testing.T) {
	hook := "http://localhost:8080/webhooks/x"
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"kazawallet key alone", Config{Kazawallet: KazawalletConfig{APIKey: "k", Webhook: hook}}, "both the API key and the API secret"},
		{"kazawallet blank secret", Config{Kazawallet: KazawalletConfig{APIKey: "k", APISecret: " ", Webhook: hook}}, "both the API key and the API secret"},
		{"kkiapay two keys of three", Config{KKiaPay: KKiaPayConfig{HashSecret: "h", PublicKey: "p", PrivateKey: "q", Webhook: hook}}, "all three API keys"},
		{"kkiapay keys without secret", Config{KKiaPay: KKiaPayConfig{PublicKey: "p", PrivateKey: "q", SecretKey: "s", Webhook: hook}}, "without the webhook's hash secret"},
		{"kkiapay blank secret", Config{KKiaPay: KKiaPayConfig{HashSecret: "  ", Webhook: hook}}, "blank"},
		{"kasperopay blank secret", Config{KasperoPay: KasperoPayConfig{WebhookSecret: " ", Webhook: hook}}, "blank"},
		{"webhook not a URL", Config{KasperoPay: KasperoPayConfig{On: true, Webhook: "localhost:8080"}}, "not an http(s) URL"},
		{"webhook no scheme", Config{Kazawallet: KazawalletConfig{APIKey: "k", APISecret: "s", Webhook: "/webhooks/kazawallet"}}, "not an http(s) URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("password not repeated", func(t *testing.T) {
		_, err := New(Config{KasperoPay: KasperoPayConfig{On: true, Webhook: "ftp://u:hunter2@example.com/"}})
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "hunter2")
	})
	t.Run("all off is no error", func(t *testing.T) {
		sb, err := New(Config{})
		require.NoError(t, err)
		assert.False(t, sb.On())
		assert.Len(t, sb.Providers(), 3)
		assert.Contains(t, sb.Providers()[0], "off (set KAZAWALLET_API_KEY")
	})
}

func TestProvidersSaysWhereWebhooksGo(t *testing.T) {
	f := newFixture(t, func(c *Config, _ string) { c.KasperoPay.Webhook = "http://user:pw@localhost:8080/webhooks/kasperopay" })
	assert.True(t, f.sb.On())
	lines := f.sb.Providers()
	assert.Equal(t, "KasperoPay: webhooks to http://user:xxxxx@localhost:8080/webhooks/kasperopay", lines[2])
}

// TestCloseStopsRetries: a KKiaPay delivery waiting for its next attempt
// stops when the sandbox closes, and a payment settled afterwards says
// that nothing was sent.
func TestCloseStopsRetries(t *testing.T) {
	waiting := make(chan struct{}, 1)
	f := newFixture(t, func(c *Config, merchant string) {
		c.KKiaPay.Webhook = merchant + "/down"
		c.Sleep = func(ctx context.Context, d time.Duration) error {
			waiting <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		}
	})
	f.merchant.HandleFunc("POST /down", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	first := f.begin("kkiapay", url.Values{"amount": {"1000"}, "method": {"CARD"}})
	second := f.begin("kkiapay", url.Values{"amount": {"2000"}, "method": {"WALLET"}})
	status, _, _ := f.post(first, url.Values{"action": {"succeed"}})
	require.Equal(t, http.StatusSeeOther, status)
	<-waiting // the first attempt was answered 503; the retry waits
	f.sb.Close()

	d := f.delivered(first)
	require.Len(t, d, 1)
	assert.True(t, d[0].done)
	require.Len(t, d[0].attempts, 2)
	assert.Equal(t, http.StatusServiceUnavailable, d[0].attempts[0].status)
	assert.Contains(t, d[0].attempts[1].err, "not sent")
	outcomeText, _ := outcome(&d[0], "KKiaPay")
	assert.Equal(t, "Stopped: the sandbox shut down", outcomeText)

	status, _, _ = f.post(second, url.Values{"action": {"fail"}})
	require.Equal(t, http.StatusSeeOther, status)
	d = f.delivered(second)
	require.Len(t, d, 1)
	require.Len(t, d[0].attempts, 1)
	assert.Equal(t, "not sent: the sandbox is shutting down", d[0].attempts[0].err)
}

// TestForgetsTheOldest: past maxPayments, the oldest payment is forgotten
// with its deliveries, and its status and Resend answer not found.
func TestForgetsTheOldest(t *testing.T) {
	f := newFixture(t)
	first := f.begin("kasperopay", url.Values{"amount": {"1"}})
	f.press(first, "pay")
	for range maxPayments {
		f.sb.add(&payment{provider: f.sb.providers[2], id: randomID(12, alnum), pending: true})
	}
	status, _ := f.get(first)
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = f.get("/pay/status/" + strings.TrimPrefix(first, "/checkout/kasperopay/"))
	assert.Equal(t, http.StatusNotFound, status)
	status, _, _ = f.post("/deliveries/1/resend", nil)
	assert.Equal(t, http.StatusNotFound, status)
	f.sb.mu.Lock()
	assert.Len(t, f.sb.order, maxPayments)
	assert.Len(t, f.sb.payments, maxPayments)
	f.sb.mu.Unlock()
}
