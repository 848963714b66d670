package shop

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kkiapay"
)

// DefaultMaxBodyBytes is the shop's limit on any request body.
const DefaultMaxBodyBytes = 1 << 20

// Config is what a shop server reads from its environment. The provider
// fields use the variable names of `payhook serve`.
type Config struct {
	// Addr is the address to listen on (ADDR). Default: ":8080".
	Addr string

	// Kazawallet's merchant credentials (KAZAWALLET_API_KEY,
	// KAZAWALLET_API_SECRET). Required.
	KazawalletAPIKey, KazawalletAPISecret string

	// KKiaPayWebhookSecret is the hash secret set with the webhook on
	// KKiaPay's dashboard (KKIAPAY_WEBHOOK_SECRET). Required.
	KKiaPayWebhookSecret string
	// KKiaPay's API keys (KKIAPAY_PUBLIC_KEY, KKIAPAY_PRIVATE_KEY,
	// KKIAPAY_SECRET_KEY), with which every webhook is confirmed through
	// KKiaPay's status API. Required: KKiaPay's header proves who sent a
	// webhook, not what it says, and the shop credits amounts.
	KKiaPayPublicKey, KKiaPayPrivateKey, KKiaPaySecretKey string
	// KKiaPayAPIURL is the status API's base (KKIAPAY_API_URL). Default:
	// kkiapay.LiveBaseURL.
	KKiaPayAPIURL string

	// KasperoPayAPIURL is the base of KasperoPay's status API, through
	// which every webhook is confirmed (KASPEROPAY_API_URL). Default:
	// kasperopay.DefaultBaseURL.
	KasperoPayAPIURL string
	// KasperoPayWebhookSecret, when set, requires the
	// X-KasperoPay-Signature header (KASPEROPAY_WEBHOOK_SECRET). Default:
	// none, since KasperoPay signs nothing unless asked.
	KasperoPayWebhookSecret string

	// MaxBodyBytes caps every request body the server reads
	// (MAX_BODY_BYTES). Default: DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Store records which webhook events were processed. Default: one
	// in-memory store for the three providers.
	Store idempotency.Store
	// Expectations holds the payments the shop expects (Expect), against
	// which payhook checks every payment before the handlers see it.
	// Default: one in-memory store for the three providers.
	Expectations expect.Store
	// Logger receives payhook's rejections and the shop's notices.
	// Default: slog.Default().
	Logger *slog.Logger
	// HTTPClient calls the providers' APIs. Default: each provider's own.
	HTTPClient *http.Client
}

// FromEnv reads a Config from environment variables through getenv
// (os.Getenv). A MAX_BODY_BYTES that is not a number is ignored.
func FromEnv(getenv func(string) string) Config {
	c := Config{
		Addr:                    getenv("ADDR"),
		KazawalletAPIKey:        getenv("KAZAWALLET_API_KEY"),
		KazawalletAPISecret:     getenv("KAZAWALLET_API_SECRET"),
		KKiaPayWebhookSecret:    getenv("KKIAPAY_WEBHOOK_SECRET"),
		KKiaPayPublicKey:        getenv("KKIAPAY_PUBLIC_KEY"),
		KKiaPayPrivateKey:       getenv("KKIAPAY_PRIVATE_KEY"),
		KKiaPaySecretKey:        getenv("KKIAPAY_SECRET_KEY"),
		KKiaPayAPIURL:           getenv("KKIAPAY_API_URL"),
		KasperoPayAPIURL:        getenv("KASPEROPAY_API_URL"),
		KasperoPayWebhookSecret: getenv("KASPEROPAY_WEBHOOK_SECRET"),
	}
	c.MaxBodyBytes, _ = strconv.ParseInt(getenv("MAX_BODY_BYTES"), 10, 64)
	return c.WithDefaults()
}

// WithDefaults returns c with its defaults filled in, the in-memory stores
// included: call it once, so that the three providers share them.
func (c Config) WithDefaults() Config {
	if c.Addr == "" {
		c.Addr = ":8080"
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Store == nil {
		c.Store = idempotency.NewMemory()
	}
	if c.Expectations == nil {
		c.Expectations = expect.NewMemory()
	}
	return c
}

// KKiaPayOptions returns the options of kkiapay.New that c asks for:
// confirmation through the status API, with c's API keys. Without them it
// returns an error (kkiapay.NewClient's, wrapping payhook.ErrConfig).
func (c Config) KKiaPayOptions() ([]kkiapay.Option, error) {
	var clientOpts []kkiapay.ClientOption
	if c.HTTPClient != nil {
		clientOpts = append(clientOpts, kkiapay.WithHTTPClient(c.HTTPClient))
	}
	if c.KKiaPayAPIURL != "" {
		clientOpts = append(clientOpts, kkiapay.WithBaseURL(c.KKiaPayAPIURL))
	}
	cl, err := kkiapay.NewClient(c.KKiaPayPublicKey, c.KKiaPayPrivateKey, c.KKiaPaySecretKey, clientOpts...)
	if err != nil {
		return nil, err
	}
	return []kkiapay.Option{kkiapay.WithConfirmation(cl)}, nil
}

// KasperoPayOptions returns the options of kasperopay.New that c asks for:
// the status API at KasperoPayAPIURL, and the webhook secret when set.
func (c Config) KasperoPayOptions() ([]kasperopay.Option, error) {
	var clientOpts []kasperopay.ClientOption
	if c.HTTPClient != nil {
		clientOpts = append(clientOpts, kasperopay.WithHTTPClient(c.HTTPClient))
	}
	if c.KasperoPayAPIURL != "" {
		clientOpts = append(clientOpts, kasperopay.WithBaseURL(c.KasperoPayAPIURL))
	}
	cl, err := kasperopay.NewClient(clientOpts...)
	if err != nil {
		return nil, err
	}
	opts := []kasperopay.Option{kasperopay.WithConfirmation(cl)}
	if c.KasperoPayWebhookSecret != "" {
		opts = append(opts, kasperopay.WithSecrets(c.KasperoPayWebhookSecret))
	}
	return opts, nil
}

// PayhookOptions returns the options of payhook.Handle and Middleware for
// every provider: one idempotency store, the expectations that find each
// payment's order (payhook.WithExpectations), and c's logger.
func (c Config) PayhookOptions() []payhook.Option {
	return []payhook.Option{payhook.WithStore(c.Store), payhook.WithExpectations(c.Expectations), payhook.WithLogger(c.Logger)}
}

// ListenAndServe serves h on addr with the timeouts a server facing the
// internet needs, until it fails.
func ListenAndServe(addr string, h http.Handler) error {
	srv := &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	return srv.ListenAndServe()
}
