package kkiapay

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/apiclient"
)

// Defaults of the confirmation's options.
const (
	// DefaultConcurrentConfirmations is how many calls of the status API
	// confirmations make at once.
	DefaultConcurrentConfirmations = 8
	// DefaultAnswerTTL is how long the status API's answer for a settled
	// transaction is remembered.
	DefaultAnswerTTL = time.Minute
)

// Base URLs of KKiaPay's API.
const (
	LiveBaseURL    = "https://api.kkiapay.me"
	SandboxBaseURL = "https://api-sandbox.kkiapay.me"
)

// Option configures [New] or [NewClient]. Each option belongs to one of the
// two, as its documentation says; given to the other constructor it is an
// error wrapping payhook.ErrConfig rather than silently ignored.
type Option func(*config)

type config struct {
	// New's
	secrets   []string
	confirm   *Client
	inFlight  int
	answerTTL time.Duration
	now       func() time.Time
	// NewClient's
	baseURL string
	sandbox bool
	http    *http.Client

	forProvider, forClient []string // names of the options given, to refuse misplaced ones
	err                    error
}

func newConfig(opts []Option) *config {
	c := &config{inFlight: DefaultConcurrentConfirmations, answerTTL: DefaultAnswerTTL, now: time.Now}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

// only returns the configuration error, including an option of the other
// constructor among opts ("New" or "NewClient").
func (c *config) only(constructor string) error {
	if c.err != nil {
		return c.err
	}
	misplaced := c.forClient
	if constructor == "NewClient" {
		misplaced = c.forProvider
	}
	if len(misplaced) > 0 {
		return fmt.Errorf("kkiapay: %w: %s is not an option of %s", payhook.ErrConfig, strings.Join(misplaced, ", "), constructor)
	}
	return nil
}

func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("kkiapay: %w: "+format, append([]any{payhook.ErrConfig}, args...)...)
	}
}

// WithSecrets adds hash secrets that [New] accepts besides its first
// argument, so that a merchant can rotate the secret without dropping
// deliveries: configure the old and the new one, change it on KKiaPay's
// dashboard, then drop the old one. An empty secret is an error. Option of
// New. Default: only New's hashSecret.
func WithSecrets(more ...string) Option {
	return func(c *config) {
		c.forProvider = append(c.forProvider, "WithSecrets")
		for _, s := range more {
			if strings.TrimSpace(s) == "" {
				c.fail("empty hash secret in WithSecrets")
			}
		}
		c.secrets = append(c.secrets, more...)
	}
}

// WithConfirmation makes [Provider.Verify] confirm every webhook with the
// transaction-status API through cl before accepting it; see the package
// documentation for what is compared and which answer gives which status.
// A nil cl is an error. Option of New. Default: no confirmation, the
// x-kkiapay-secret header alone.
func WithConfirmation(cl *Client) Option {
	return func(c *config) {
		c.forProvider = append(c.forProvider, "WithConfirmation")
		if cl == nil {
			c.fail("WithConfirmation given a nil *Client")
		}
		c.confirm = cl
	}
}

// WithSandbox makes the client call KKiaPay's sandbox, SandboxBaseURL.
// Option of NewClient. Default: the live API, LiveBaseURL.
func WithSandbox() Option {
	return func(c *config) {
		c.forClient = append(c.forClient, "WithSandbox")
		c.sandbox = true
	}
}

// WithBaseURL makes the client call the API at u, an absolute http or https
// URL, for tests and proxies; it takes precedence over WithSandbox. Option
// of NewClient. Default: LiveBaseURL.
func WithBaseURL(u string) Option {
	return func(c *config) {
		c.forClient = append(c.forClient, "WithBaseURL")
		if err := apiclient.CheckBase(u); err != nil {
			c.fail("WithBaseURL: %w", err)
			return
		}
		c.baseURL = u
	}
}

// WithHTTPClient makes the client send its requests with hc, whose Timeout
// bounds each call; nil is ignored. Option of NewClient. Default: an
// http.Client with a 15-second timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) {
		c.forClient = append(c.forClient, "WithHTTPClient")
		if hc != nil {
			c.http = hc
		}
	}
}

// WithConcurrentConfirmations bounds the calls of the status API that
// confirmations make at once: a confirmation beyond waits for one to end (at
// most 10 seconds, then 503), so that a spray of deliveries cannot open
// unbounded connections to KKiaPay and get the merchant throttled. Values
// below 1 are ignored. Option of New. Default:
// DefaultConcurrentConfirmations.
func WithConcurrentConfirmations(n int) Option {
	return func(c *config) {
		c.forProvider = append(c.forProvider, "WithConcurrentConfirmations")
		if n > 0 {
			c.inFlight = n
		}
	}
}

// WithAnswerTTL sets how long the status API's answer for a settled
// transaction (SUCCESS, FAILED, REVERTED) is remembered, per transaction
// id, so that a spray of deliveries naming one transaction costs one call.
// PENDING, "not found" and errors are never remembered: KKiaPay's retry
// asks again. Values below 1 are ignored. Option of New. Default:
// DefaultAnswerTTL.
func WithAnswerTTL(d time.Duration) Option {
	return func(c *config) {
		c.forProvider = append(c.forProvider, "WithAnswerTTL")
		if d > 0 {
			c.answerTTL = d
		}
	}
}

// WithClock makes the Provider read the time from now, for tests of the
// answers it remembers. nil is ignored. Option of New. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		c.forProvider = append(c.forProvider, "WithClock")
		if now != nil {
			c.now = now
		}
	}
}
