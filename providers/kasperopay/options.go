package kasperopay

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/apiclient"
)

// Defaults of the options.
const (
	// DefaultBaseURL is the base of KasperoPay's status API.
	DefaultBaseURL = "https://kaspa-store.com"
	// DefaultStatusPath is the status API's path, to which the payment id
	// is appended. KasperoPay's webhook page writes /api/pay/status/, but
	// only /pay/status/ is served by its code and documented in its API
	// reference.
	DefaultStatusPath = "/pay/status/"
	// DefaultTimeout bounds one call of the status API.
	DefaultTimeout = 10 * time.Second
	// DefaultReplayWindow is how far a signed webhook's timestamp may be
	// from now, either way, when a webhook secret is configured.
	DefaultReplayWindow = 5 * time.Minute
	// DefaultMaxAge is how long after its confirmation a payment's webhook
	// is still accepted under confirmation: KasperoPay sends it once, at
	// once, so an older one is a replay.
	DefaultMaxAge = time.Hour
	// DefaultConcurrentConfirmations is how many calls of the status API
	// confirmations make at once.
	DefaultConcurrentConfirmations = 8
	// DefaultAnswerTTL is how long the status API's answer for a settled
	// payment is remembered.
	DefaultAnswerTTL = time.Minute
)

// Option configures [New] and [NewClient]. The status API options
// (WithBaseURL, WithStatusPath, WithHTTPClient, WithTimeout) serve both;
// the others configure the Provider only and are ignored by NewClient.
type Option func(*config)

type config struct {
	baseURL    string
	statusPath string
	httpClient *http.Client
	timeout    time.Duration
	secret     string
	confirm    bool
	window     time.Duration
	maxAge     time.Duration
	inFlight   int
	answerTTL  time.Duration
	now        func() time.Time
	logger     *slog.Logger
	err        error
}

func newConfig(opts []Option) (config, error) {
	c := config{
		baseURL:    DefaultBaseURL,
		statusPath: DefaultStatusPath,
		timeout:    DefaultTimeout,
		confirm:    true,
		window:     DefaultReplayWindow,
		maxAge:     DefaultMaxAge,
		inFlight:   DefaultConcurrentConfirmations,
		answerTTL:  DefaultAnswerTTL,
		now:        time.Now,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.err != nil {
		return c, c.err
	}
	if err := apiclient.CheckBase(c.baseURL); err != nil {
		return c, fmt.Errorf("kasperopay: %w: %w", payhook.ErrConfig, err)
	}
	return c, nil
}

func (c *config) fail(err error) { c.err = errors.Join(c.err, err) }

// WithBaseURL sets the status API's base URL, such as a test server's or a
// proxy's. Default: DefaultBaseURL. A URL that is not http(s) makes New
// and NewClient fail with payhook.ErrConfig.
func WithBaseURL(u string) Option {
	return func(c *config) { c.baseURL = strings.TrimRight(u, "/") }
}

// WithStatusPath sets the status API's path, to which the escaped payment
// id is appended: "/api/pay/status/" for the path KasperoPay's webhook page
// writes. A missing leading or trailing slash is added. Default:
// DefaultStatusPath. A path holding "?" or "#" makes New and NewClient
// fail with payhook.ErrConfig.
func WithStatusPath(p string) Option {
	return func(c *config) {
		if strings.ContainsAny(p, "?#") {
			c.fail(fmt.Errorf("kasperopay: %w: status path %q holds a query or fragment", payhook.ErrConfig, p))
			return
		}
		c.statusPath = "/" + strings.Trim(p, "/") + "/"
		if c.statusPath == "//" {
			c.statusPath = "/"
		}
	}
}

// WithHTTPClient sets the client that calls the status API. Default: an
// http.Client with no timeout of its own, the calls being bounded by
// WithTimeout. nil is ignored.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) {
		if hc != nil {
			c.httpClient = hc
		}
	}
}

// WithTimeout bounds each call of the status API, whatever the HTTP
// client's own timeout. Default: DefaultTimeout. Values below 1 are
// ignored.
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithWebhookSecret makes the Provider require the X-KasperoPay-Signature
// header, the hex HMAC-SHA256 of the raw body keyed with secret, and a
// timestamp within the replay window ([WithReplayWindow]). Both are checked
// before the status API is called. Default: no secret, so no signature is
// checked. An empty secret makes New fail with payhook.ErrConfig.
func WithWebhookSecret(secret string) Option {
	return func(c *config) {
		if strings.TrimSpace(secret) == "" {
			c.fail(fmt.Errorf("kasperopay: %w: empty webhook secret", payhook.ErrConfig))
			return
		}
		c.secret = secret
	}
}

// WithoutConfirmation stops the Provider from confirming each webhook
// through the status API. KasperoPay's payload is unsigned, so this is
// allowed only together with [WithWebhookSecret]: without one, New fails
// with payhook.ErrConfig. Default: every webhook is confirmed.
func WithoutConfirmation() Option {
	return func(c *config) { c.confirm = false }
}

// WithReplayWindow sets how far a signed webhook's timestamp may be from
// now, in the past or the future, when a webhook secret is configured.
// Default: DefaultReplayWindow. Values below 1 are ignored.
func WithReplayWindow(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.window = d
		}
	}
}

// WithMaxAge sets how long after the status API's confirmed_at a payment's
// webhook is still accepted under confirmation. No webhook of KasperoPay's
// signs a time, so a captured (or, without a secret, hand-written) webhook
// naming a real payment would be processed again once the idempotency store
// has forgotten its payment id; refusing payments confirmed longer ago than
// d closes that window, provided d is shorter than the store's retention
// (payhook.WithRetention, 7 days by default) and survives its restarts (a
// durable store). KasperoPay sends its webhook once, right after the
// payment is confirmed, so d only needs to cover that delivery's delay. The
// age is measured when the webhook arrived (payhook.ReceivedAt, for a
// delivery an inbox confirms later), else now.
// Default: DefaultMaxAge. Values below 1 are ignored.
func WithMaxAge(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.maxAge = d
		}
	}
}

// WithConcurrentConfirmations bounds the calls of the status API that
// confirmations make at once: a confirmation beyond waits for one to end (at
// most WithTimeout's duration, then 503), so that a spray of unsigned
// deliveries cannot open unbounded connections to KasperoPay and get the
// merchant throttled. Values below 1 are ignored. Provider only. Default:
// DefaultConcurrentConfirmations.
func WithConcurrentConfirmations(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.inFlight = n
		}
	}
}

// WithAnswerTTL sets how long the status API's answer for a settled payment
// (completed, expired) is remembered, per payment id, so that a spray of
// forged deliveries naming one payment costs one call. Pending and
// confirming payments, "not found" and errors are never remembered. Values
// below 1 are ignored. Provider only. Default: DefaultAnswerTTL.
func WithAnswerTTL(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.answerTTL = d
		}
	}
}

// WithClock makes the Provider read the time from now, for tests of the
// replay window, the maximum age and the answers it remembers. Default: time.Now. nil is ignored.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// WithLogger sets the logger of the lines the Provider writes itself: an
// error when the status API cannot be reached or does not yet say
// "completed", since KasperoPay never sends a webhook twice and that line
// is then the only record of the payment. Default: slog.Default() at the
// time of logging, so that the line is never dropped for want of a logger;
// pass a logger with slog.DiscardHandler to drop it knowingly. nil is
// ignored.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}
