package kkiapay

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/apiclient"
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
	secrets []string
	confirm *Client
	// NewClient's
	baseURL string
	sandbox bool
	http    *http.Client

	forProvider, forClient []string // names of the options given, to refuse misplaced ones
	err                    error
}

func newConfig(opts []Option) *config {
	c := &config{}
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
