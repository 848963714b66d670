package kasperopay

import (
	"net/http"
	"strings"
	"time"

	"github.com/payhook/payhook/internal/optcheck"
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
	secrets   []string // WithSecrets'
	client    *Client  // WithConfirmation's; nil for NewClient()'s
	confirm   bool     // false after WithoutConfirmation
	window    time.Duration
	maxAge    time.Duration
	inFlight  int
	answerTTL time.Duration
	now       func() time.Time
	refused   optcheck.Refused // values the options could not use
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

// WithSecrets makes the Provider require the X-KasperoPay-Signature
// header, the hex HMAC-SHA256 of the raw body keyed with one of secrets,
// and a timestamp within the replay window ([WithReplayWindow]), both
// checked before the status API is called. secrets are the webhook secret
// of KasperoPay's dashboard and, while rotating it, the old one: configure
// both, change it on the dashboard, then drop the old one; every secret is
// tried on every delivery. Default: no secret, so no signature is checked
// and every webhook is confirmed. No secret, or an empty one, makes New
// fail with payhook.ErrConfig.
func WithSecrets(secrets ...string) Option {
	return func(c *config) {
		if len(secrets) == 0 {
			c.refused.Add("WithSecrets(): no secret")
		}
		for _, s := range secrets {
			if strings.TrimSpace(s) == "" {
				c.refused.Add("WithSecrets: empty webhook secret")
				return
			}
		}
		c.secrets = append(c.secrets, secrets...)
	}
}

// WithConfirmation makes the Provider confirm every webhook through cl,
// for a status API at another base URL, path or timeout ([NewClient]'s
// options). Of WithConfirmation and [WithoutConfirmation], the last given
// applies. Default: a Client of NewClient(), the status API at
// DefaultBaseURL. A nil cl makes New fail with payhook.ErrConfig.
func WithConfirmation(cl *Client) Option {
	return func(c *config) {
		if cl == nil {
			c.refused.Add("WithConfirmation(nil)")
			return
		}
		c.client, c.confirm = cl, true
	}
}

// WithoutConfirmation stops the Provider from confirming each webhook
// through the status API, so that the signature alone is trusted.
// KasperoPay's payload is unsigned by default, so this is allowed only
// together with [WithSecrets]: without them, New fails with
// payhook.ErrConfig. Of [WithConfirmation] and WithoutConfirmation, the
// last given applies. Default: every webhook is confirmed.
func WithoutConfirmation() Option {
	return func(c *config) { c.client, c.confirm = nil, false }
}

// WithReplayWindow sets how far a signed webhook's timestamp may be from
// now, in the past or the future, when webhook secrets are configured
// ([WithSecrets]). Default: DefaultReplayWindow. A value below 1 makes New
// fail with payhook.ErrConfig.
func WithReplayWindow(d time.Duration) Option {
	return func(c *config) { optcheck.Positive(&c.refused, "WithReplayWindow", d, &c.window) }
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
// delivery an inbox confirms later), else now. Default: DefaultMaxAge. A
// value below 1 makes New fail with payhook.ErrConfig.
func WithMaxAge(d time.Duration) Option {
	return func(c *config) { optcheck.Positive(&c.refused, "WithMaxAge", d, &c.maxAge) }
}

// WithConcurrentConfirmations bounds the calls of the status API that
// confirmations make at once: a confirmation beyond waits for one to end (at
// most the Client's timeout, then 503), so that a spray of unsigned
// deliveries cannot open unbounded connections to KasperoPay and get the
// merchant throttled. Default: DefaultConcurrentConfirmations. A value
// below 1 makes New fail with payhook.ErrConfig.
func WithConcurrentConfirmations(n int) Option {
	return func(c *config) { optcheck.Positive(&c.refused, "WithConcurrentConfirmations", n, &c.inFlight) }
}

// WithAnswerTTL sets how long the status API's answer for a settled payment
// (completed, expired) is remembered, per payment id, so that a spray of
// forged deliveries naming one payment costs one call. Pending and
// confirming payments, "not found" and errors are never remembered.
// Default: DefaultAnswerTTL. A value below 1 makes New fail with
// payhook.ErrConfig.
func WithAnswerTTL(d time.Duration) Option {
	return func(c *config) { optcheck.Positive(&c.refused, "WithAnswerTTL", d, &c.answerTTL) }
}

// WithClock makes the Provider read the time from now, for tests of the
// replay window, the maximum age and the answers it remembers. Default:
// time.Now. A nil func makes New fail with payhook.ErrConfig.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.refused.Add("WithClock(nil)")
			return
		}
		c.now = now
	}
}

// ClientOption configures [NewClient]. An [Option] is not one: the
// compiler refuses it here.
type ClientOption func(*clientConfig)

type clientConfig struct {
	baseURL    string
	statusPath string
	http       *http.Client
	timeout    time.Duration
	refused    optcheck.Refused // values the options could not use
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
		if strings.ContainsAny(p, "?#") {
			c.refused.Add("WithStatusPath(%q): holds a query or a fragment", p)
			return
		}
		c.statusPath = "/" + strings.Trim(p, "/") + "/"
		if c.statusPath == "//" {
			c.statusPath = "/"
		}
	}
}

// WithHTTPClient sets the client that calls the status API. Default: an
// http.Client that follows redirects only within the API's host. A nil
// client makes NewClient fail with payhook.ErrConfig.
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(c *clientConfig) { optcheck.NotNil(&c.refused, "WithHTTPClient", hc, &c.http) }
}

// WithTimeout bounds each call of the status API, whatever the HTTP
// client's own timeout. Default: DefaultTimeout. A value below 1 makes
// NewClient fail with payhook.ErrConfig.
func WithTimeout(d time.Duration) ClientOption {
	return func(c *clientConfig) { optcheck.Positive(&c.refused, "WithTimeout", d, &c.timeout) }
}
