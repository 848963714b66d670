package kasperopay

import (
	"net/http"
	"strings"
	"time"
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

// Option configures [New]. A [ClientOption] is not one: the compiler
// refuses it here.
type Option func(*config)

type config struct {
	secret    string // WithWebhookSecret's
	hasSecret bool
	blank     bool     // WithWebhookSecret was given a blank secret
	more      []string // WithSecrets'

	client    *Client
	nilClient bool // WithConfirmation(nil)
	confirm   bool
	window    time.Duration
	maxAge    time.Duration
	inFlight  int
	answerTTL time.Duration
	now       func() time.Time
}

func newConfig(opts []Option) config {
	c := config{
		confirm:   true,
		window:    DefaultReplayWindow,
		maxAge:    DefaultMaxAge,
		inFlight:  DefaultConcurrentConfirmations,
		answerTTL: DefaultAnswerTTL,
		now:       time.Now,
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// WithWebhookSecret makes the Provider require the X-KasperoPay-Signature
// header, the hex HMAC-SHA256 of the raw body keyed with secret, and a
// timestamp within the replay window ([WithReplayWindow]). Both are checked
// before the status API is called. Default: no secret, so no signature is
// checked. An empty secret makes New fail with payhook.ErrConfig.
func WithWebhookSecret(secret string) Option {
	return func(c *config) {
		c.secret, c.hasSecret = secret, true
		c.blank = c.blank || strings.TrimSpace(secret) == ""
	}
}

// WithSecrets adds webhook secrets that the Provider accepts besides
// WithWebhookSecret's, so that a merchant can rotate the secret without
// dropping deliveries: configure the old and the new one, change it on
// KasperoPay's dashboard, then drop the old one. Every secret is tried on
// every delivery. Without WithWebhookSecret, or with an empty secret, New
// fails with payhook.ErrConfig. Default: WithWebhookSecret's only.
func WithSecrets(more ...string) Option {
	return func(c *config) { c.more = append(c.more, more...) }
}

// WithConfirmation makes the Provider confirm every webhook through cl,
// for a status API at another base URL, path or timeout ([NewClient]'s
// options). A nil cl makes New fail with payhook.ErrConfig. Default: a
// Client of NewClient(), the status API at DefaultBaseURL.
func WithConfirmation(cl *Client) Option {
	return func(c *config) { c.client, c.nilClient = cl, cl == nil }
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
// delivery an inbox confirms later), else now. Default: DefaultMaxAge.
// Values below 1 are ignored.
func WithMaxAge(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.maxAge = d
		}
	}
}

// WithConcurrentConfirmations bounds the calls of the status API that
// confirmations make at once: a confirmation beyond waits for one to end (at
// most the Client's timeout, then 503), so that a spray of unsigned
// deliveries cannot open unbounded connections to KasperoPay and get the
// merchant throttled. Values below 1 are ignored. Default:
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
// below 1 are ignored. Default: DefaultAnswerTTL.
func WithAnswerTTL(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.answerTTL = d
		}
	}
}

// WithClock makes the Provider read the time from now, for tests of the
// replay window, the maximum age and the answers it remembers. nil is
// ignored. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// ClientOption configures [NewClient]. An [Option] is not one: the
// compiler refuses it here.
type ClientOption func(*clientConfig)

type clientConfig struct {
	baseURL    string
	statusPath string
	badPath    bool // the path holds a query or a fragment
	http       *http.Client
	timeout    time.Duration
}

func newClientConfig(opts []ClientOption) clientConfig {
	c := clientConfig{baseURL: DefaultBaseURL, statusPath: DefaultStatusPath, timeout: DefaultTimeout}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// WithBaseURL sets the status API's base URL, such as a test server's or a
// proxy's. Default: DefaultBaseURL. A URL that is not http(s) makes
// NewClient fail with payhook.ErrConfig.
func WithBaseURL(u string) ClientOption {
	return func(c *clientConfig) { c.baseURL = strings.TrimRight(strings.TrimSpace(u), "/") }
}

// WithStatusPath sets the status API's path, to which the escaped payment
// id is appended: "/api/pay/status/" for the path KasperoPay's webhook page
// writes. A missing leading or trailing slash is added. Default:
// DefaultStatusPath. A path holding "?" or "#" makes NewClient fail with
// payhook.ErrConfig.
func WithStatusPath(p string) ClientOption {
	return func(c *clientConfig) {
		c.badPath = strings.ContainsAny(p, "?#")
		c.statusPath = "/" + strings.Trim(p, "/") + "/"
		if c.statusPath == "//" {
			c.statusPath = "/"
		}
	}
}

// WithHTTPClient sets the client that calls the status API. Default: an
// http.Client that follows redirects only within the API's host. nil is
// ignored.
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(c *clientConfig) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithTimeout bounds each call of the status API, whatever the HTTP
// client's own timeout. Default: DefaultTimeout. Values below 1 are
// ignored.
func WithTimeout(d time.Duration) ClientOption {
	return func(c *clientConfig) {
		if d > 0 {
			c.timeout = d
		}
	}
}
