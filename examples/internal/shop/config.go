package shop

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
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
	// KKIAPAY_SECRET_KEY). When set, every webhook is confirmed through
	// KKiaPay's status API. Default: the header secret alone.
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
	return c.withDefaults()
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = ":8080"
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Providers are the three providers' verifiers.
type Providers struct {
	Kazawallet *kazawallet.Provider
	KKiaPay    *kkiapay.Provider
	KasperoPay *kasperopay.Provider
}

// Setup is what a server needs to mount the webhooks: the providers, the
// shop's typed handlers, and payhook's options (one idempotency store and
// logger for every provider).
type Setup struct {
	Config    Config // with defaults filled in
	Providers Providers
	Hooks     Webhooks
	Options   []payhook.Option
}

// NewSetup builds the providers from c; a missing secret is an error
// wrapping payhook.ErrConfig, never a provider that accepts everything.
func NewSetup(c Config, orders OrderStore) (*Setup, error) {
	c = c.withDefaults()
	kw, err := kazawallet.New(c.KazawalletAPIKey, c.KazawalletAPISecret)
	if err != nil {
		return nil, err
	}
	var kkOpts []kkiapay.Option
	if c.KKiaPayPublicKey != "" || c.KKiaPayPrivateKey != "" || c.KKiaPaySecretKey != "" {
		clientOpts := []kkiapay.Option{kkiapay.WithHTTPClient(c.HTTPClient)}
		if c.KKiaPayAPIURL != "" {
			clientOpts = append(clientOpts, kkiapay.WithBaseURL(c.KKiaPayAPIURL))
		}
		cl, err := kkiapay.NewClient(c.KKiaPayPublicKey, c.KKiaPayPrivateKey, c.KKiaPaySecretKey, clientOpts...)
		if err != nil {
			return nil, err
		}
		kkOpts = append(kkOpts, kkiapay.WithConfirmation(cl))
	}
	kk, err := kkiapay.New(c.KKiaPayWebhookSecret, kkOpts...)
	if err != nil {
		return nil, err
	}
	kpOpts := []kasperopay.Option{kasperopay.WithHTTPClient(c.HTTPClient), kasperopay.WithLogger(c.Logger)}
	if c.KasperoPayAPIURL != "" {
		kpOpts = append(kpOpts, kasperopay.WithBaseURL(c.KasperoPayAPIURL))
	}
	if c.KasperoPayWebhookSecret != "" {
		kpOpts = append(kpOpts, kasperopay.WithWebhookSecret(c.KasperoPayWebhookSecret))
	}
	kp, err := kasperopay.New(kpOpts...)
	if err != nil {
		return nil, err
	}
	store := c.Store
	if store == nil {
		store = idempotency.NewMemory()
	}
	return &Setup{
		Config:    c,
		Providers: Providers{Kazawallet: kw, KKiaPay: kk, KasperoPay: kp},
		Hooks:     Webhooks{Orders: orders, Log: c.Logger},
		Options:   []payhook.Option{payhook.WithStore(store), payhook.WithLogger(c.Logger)},
	}, nil
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
