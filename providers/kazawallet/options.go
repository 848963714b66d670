package kazawallet

import (
	"net/http"
	"strings"
	"time"

	"github.com/payhook/payhook/internal/optcheck"
)

// Defaults of the options.
const (
	// DefaultBaseURL is the base of Kazawallet's API.
	DefaultBaseURL = "https://outdoor.kasroad.com/wallet"
	// DefaultTimeout bounds one call of the API.
	DefaultTimeout = 15 * time.Second
)

// Option configures [New]. A [ClientOption] is not one: the compiler
// refuses it here.
type Option func(*config)

type config struct {
	pairs []KeyPair
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// KeyPair is a merchant account's credentials, as Kazawallet's merchant
// settings show them: both go into the signature.
type KeyPair struct {
	APIKey, APISecret string
}

// WithSecrets adds key pairs that [New] accepts besides its arguments, so
// that a merchant can rotate the credentials without dropping deliveries:
// configure the old and the new pair, change them in Kazawallet's merchant
// settings, then drop the old pair. Every pair is tried on every delivery.
// An empty key or secret makes New fail with payhook.ErrConfig. Default:
// only New's apiKey and apiSecret.
func WithSecrets(pairs ...KeyPair) Option {
	return func(c *config) { c.pairs = append(c.pairs, pairs...) }
}

// ClientOption configures [NewClient]. An [Option] is not one: the
// compiler refuses it here.
type ClientOption func(*clientConfig)

type clientConfig struct {
	baseURL string
	http    *http.Client
	timeout time.Duration
	refused optcheck.Refused // values the options could not use
}

func newClientConfig(opts []ClientOption) clientConfig {
	c := clientConfig{baseURL: DefaultBaseURL, timeout: DefaultTimeout}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// WithBaseURL sets the API's base URL, such as a test server's. Default:
// DefaultBaseURL. A URL that is not http(s) makes NewClient fail with
// payhook.ErrConfig.
func WithBaseURL(u string) ClientOption {
	return func(c *clientConfig) { c.baseURL = strings.TrimSpace(u) }
}

// WithHTTPClient sets the HTTP client. Default: an http.Client that follows
// redirects only within the API's host, since it would forward the API key.
// A nil client makes NewClient fail with payhook.ErrConfig.
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(c *clientConfig) { optcheck.NotNil(&c.refused, "WithHTTPClient", hc, &c.http) }
}

// WithTimeout bounds each call of the API, whatever the HTTP client's own
// timeout. Default: DefaultTimeout. A value below 1 makes NewClient fail
// with payhook.ErrConfig.
func WithTimeout(d time.Duration) ClientOption {
	return func(c *clientConfig) { optcheck.Positive(&c.refused, "WithTimeout", d, &c.timeout) }
}
