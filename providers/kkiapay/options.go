package kkiapay

import (
	"net/http"
	"strings"
	"time"

	"github.com/payhook/payhook/internal/optcheck"
)

// Base URLs of KKiaPay's API.
const (
	LiveBaseURL    = "https://api.kkiapay.me"
	SandboxBaseURL = "https://api-sandbox.kkiapay.me"
)

// Defaults of the options.
const (
	// DefaultConcurrentConfirmations is how many calls of the status API
	// confirmations make at once.
	DefaultConcurrentConfirmations = 8
	// DefaultAnswerTTL is how long the status API's answer for a settled
	// transaction is remembered.
	DefaultAnswerTTL = time.Minute
	// DefaultTimeout bounds one call of the API.
	DefaultTimeout = 15 * time.Second
)

// Option configures [New]. A [ClientOption] is not one: the compiler
// refuses it here.
type Option func(*config)

type config struct {
	secrets   []string
	confirm   *Client
	inFlight  int
	answerTTL time.Duration
	now       func() time.Time
	refused   optcheck.Refused // values the options could not use
}

func newConfig(opts []Option) config {
	c := config{inFlight: DefaultConcurrentConfirmations, answerTTL: DefaultAnswerTTL, now: time.Now}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// WithSecrets adds hash secrets that [New] accepts besides its first
// argument, so that a merchant can rotate the secret without dropping
// deliveries: configure the old and the new one, change it on KKiaPay's
// dashboard, then drop the old one. Every secret is compared on every
// delivery. An empty secret makes New fail with payhook.ErrConfig.
// Default: only New's hashSecret.
func WithSecrets(more ...string) Option {
	return func(c *config) { c.secrets = append(c.secrets, more...) }
}

// WithConfirmation makes the Provider confirm every webhook with the
// transaction-status API through cl ([Provider.Confirm]); see the package
// documentation for what is compared and which answer gives which status.
// A nil cl makes New fail with payhook.ErrConfig. Default: no
// confirmation, the x-kkiapay-secret header alone.
func WithConfirmation(cl *Client) Option {
	return func(c *config) { optcheck.NotNil(&c.refused, "WithConfirmation", cl, &c.confirm) }
}

// WithConcurrentConfirmations bounds the calls of the status API that
// confirmations make at once: a confirmation beyond waits for one to end (at
// most 10 seconds, then 503), so that a spray of deliveries cannot open
// unbounded connections to KKiaPay and get the merchant throttled.
// Default: DefaultConcurrentConfirmations. A value below 1 makes New fail
// with payhook.ErrConfig.
func WithConcurrentConfirmations(n int) Option {
	return func(c *config) { optcheck.Positive(&c.refused, "WithConcurrentConfirmations", n, &c.inFlight) }
}

// WithAnswerTTL sets how long the status API's answer for a settled
// transaction (SUCCESS, FAILED, REVERTED) is remembered, per transaction
// id, so that a spray of deliveries naming one transaction costs one call.
// PENDING, "not found" and errors are never remembered: KKiaPay's retry
// asks again. Default: DefaultAnswerTTL. A value below 1 makes New fail
// with payhook.ErrConfig.
func WithAnswerTTL(d time.Duration) Option {
	return func(c *config) { optcheck.Positive(&c.refused, "WithAnswerTTL", d, &c.answerTTL) }
}

// WithClock makes the Provider read the time from now, for tests of the
// answers it remembers. Default: time.Now. A nil func makes New fail with
// payhook.ErrConfig.
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
	baseURL string
	baseSet bool
	sandbox bool
	http    *http.Client
	timeout time.Duration
	refused optcheck.Refused // values the options could not use
}

func newClientConfig(opts []ClientOption) clientConfig {
	c := clientConfig{timeout: DefaultTimeout}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// WithSandbox makes the client call KKiaPay's sandbox, SandboxBaseURL.
// Default: the live API, LiveBaseURL.
func WithSandbox() ClientOption {
	return func(c *clientConfig) { c.sandbox = true }
}

// WithBaseURL makes the client call the API at u, an absolute http or https
// URL, for tests and proxies; it takes precedence over WithSandbox. A URL
// that is not one makes NewClient fail with payhook.ErrConfig. Default:
// LiveBaseURL.
func WithBaseURL(u string) ClientOption {
	return func(c *clientConfig) { c.baseURL, c.baseSet = strings.TrimSpace(u), true }
}

// WithHTTPClient makes the client send its requests with hc. Default: an
// http.Client that follows redirects only within the API's host, since it
// would forward the API keys. A nil client makes NewClient fail with
// payhook.ErrConfig.
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(c *clientConfig) { optcheck.NotNil(&c.refused, "WithHTTPClient", hc, &c.http) }
}

// WithTimeout bounds each call of the API, whatever the HTTP client's own
// timeout. Default: DefaultTimeout. A value below 1 makes NewClient fail
// with payhook.ErrConfig.
func WithTimeout(d time.Duration) ClientOption {
	return func(c *clientConfig) { optcheck.Positive(&c.refused, "WithTimeout", d, &c.timeout) }
}
