package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/forward"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/internal/secret"
)

// config is the command's configuration: every variable of [variables],
// read once by loadConfig. The commands take what they need from it and
// never read the environment themselves. Credentials are secret.Values, so
// that printing a config shows none.
type config struct {
	addr      string             // PAYHOOK_ADDR
	store     string             // PAYHOOK_STORE, as written (openConn reads it)
	rateLimit *payhook.RateLimit // PAYHOOK_RATE_LIMIT; nil: off
	rateSpec  string             // PAYHOOK_RATE_LIMIT as written, for the log
	metrics   bool               // PAYHOOK_METRICS
	proxies   proxies            // PAYHOOK_TRUSTED_PROXIES
	tlsCert   string             // PAYHOOK_TLS_CERT
	tlsKey    string             // PAYHOOK_TLS_KEY
	limits    limits             // not variables: defaultLimits; tests lower them

	adminAddr  string       // PAYHOOK_ADMIN_ADDR; "": off
	adminToken secret.Value // PAYHOOK_ADMIN_TOKEN
	pprof      bool         // PAYHOOK_PPROF

	forwardURL     string       // PAYHOOK_FORWARD_URL
	forwardSecret  secret.Value // PAYHOOK_FORWARD_SECRET
	forwardTimeout time.Duration
	inboxAttempts  int
	inboxBackoff   time.Duration

	reconcileBackoff time.Duration // PAYHOOK_RECONCILE_BACKOFF

	kazawallet struct {
		keys, secrets secrets
	}
	kkiapay struct {
		secrets                          secrets
		publicKey, privateKey, secretKey secret.Value
		sandbox                          bool
		apiURL                           string
	}
	kasperopay struct {
		enabled            bool
		secrets            secrets
		apiURL, statusPath string
	}

	// set holds the variables that were set (not empty), for the checks
	// that depend on whether a variable was given at all.
	set map[string]bool
}

// A variable is one environment variable of the command: one row of the
// table that loadConfig reads, and that the package doc and docs/serve.md
// are generated from (TestVariablesDoc).
type variable struct {
	name string
	// def is the value taken when the variable is unset or empty; it goes
	// through parse like any other ("" parses nothing).
	def string
	// unset says, for the docs, what an unset variable means when def
	// does not say it all (Markdown).
	unset string
	// doc is what the variable means (Markdown: docs/serve.md shows it as
	// it is, the package doc without its backticks and links).
	doc string
	// secret: the value is a credential, or may hold one (a URL with a
	// token), and an error never quotes it.
	secret bool
	// needs names the variable without which this one means nothing: serve
	// refuses it alone (config.needs).
	needs string
	// parse reads the value v (never "") into c. Its error says what was
	// wanted; loadConfig adds the variable's name, and its value when not
	// secret.
	parse func(c *config, v string) error
}

// variables is every variable the command reads, in the order of the docs.
// To add one: add a row here and a field to config, read the field where it
// is used, and run go test -run TestVariablesDoc -update, which writes the
// row into the package doc and docs/serve.md.
var variables = []variable{
	{name: "PAYHOOK_ADDR", def: ":8080",
		doc:   "the listen address of the webhooks, `host:port` or `:port`",
		parse: func(c *config, v string) error { c.addr = v; return nil }},
	{name: "PAYHOOK_STORE", secret: true,
		unset: "the SQLite file `payhook.db` in the working directory",
		doc:   "the idempotency store (and the inbox's backend): `sqlite:PATH`, `memory`, `redis://...` or `postgres://...` ([below](#payhook_store))",
		parse: func(c *config, v string) error { c.store = v; return nil }},
	{name: "PAYHOOK_RATE_LIMIT", def: defaultRateLimit,
		doc:   "requests per client (an IP address; an IPv6 address by its /64; behind a proxy, see `PAYHOOK_TRUSTED_PROXIES`): `N/s`, `N/m` (or `N/min`) or `N/h`, with up to N at once; `off` for none. Over it: 429 with `Retry-After`, before the body is read",
		parse: parseRateLimit},
	{name: "PAYHOOK_TRUSTED_PROXIES",
		unset: "none: the client is the connection's peer",
		doc:   "the reverse proxies in front of serve, comma-separated addresses or CIDRs (`127.0.0.1,10.0.0.0/8`): for a request from one of them, the client (of the rate limit and of the caps on requests in flight) is the right-most `X-Forwarded-For` address that is not one of them ([security.md](security.md#behind-a-reverse-proxy))",
		parse: func(c *config, v string) (err error) { c.proxies, err = parseProxies(v); return err }},
	{name: "PAYHOOK_TLS_CERT",
		unset: "HTTP",
		doc:   "with `PAYHOOK_TLS_KEY`: serve HTTPS on `PAYHOOK_ADDR` with this PEM certificate (chain) file; a renewed file is served within a minute, without a restart",
		parse: func(c *config, v string) error { c.tlsCert = v; return nil }},
	{name: "PAYHOOK_TLS_KEY", secret: true,
		doc:   "the PEM private key file of `PAYHOOK_TLS_CERT`",
		parse: func(c *config, v string) error { c.tlsKey = v; return nil }},
	{name: "PAYHOOK_ADMIN_ADDR", def: "127.0.0.1:9090",
		doc:   "the admin listener: `GET /metrics`, pprof with `PAYHOOK_PPROF`, and the operator's endpoints, never on `PAYHOOK_ADDR`; `off` for none. Beyond loopback it needs `PAYHOOK_ADMIN_TOKEN` ([security.md](security.md#the-admin-listener))",
		parse: parseAdminAddr},
	{name: "PAYHOOK_ADMIN_TOKEN", secret: true,
		unset: "no token: loopback only",
		doc:   "the token every request to the admin listener must carry, as `Authorization: Bearer TOKEN`: at least 16 characters (`openssl rand -hex 16`). Required when `PAYHOOK_ADMIN_ADDR` is not a loopback address",
		parse: parseAdminToken},
	{name: "KAZAWALLET_API_KEY", secret: true,
		unset: "Kazawallet not mounted",
		doc:   "with `KAZAWALLET_API_SECRET`, mounts `POST /webhooks/kazawallet`; one without the other is refused. While rotating, a comma-separated list of as many keys as secrets, paired in order",
		parse: func(c *config, v string) (err error) { c.kazawallet.keys, err = parseList(v); return err }},
	{name: "KAZAWALLET_API_SECRET", secret: true,
		doc:   "the API secret that signs Kazawallet's webhooks, paired with `KAZAWALLET_API_KEY`; a comma-separated list while rotating",
		parse: func(c *config, v string) (err error) { c.kazawallet.secrets, err = parseList(v); return err }},
	{name: "KKIAPAY_WEBHOOK_SECRET", secret: true,
		unset: "KKiaPay not mounted",
		doc:   "mounts `POST /webhooks/kkiapay`: the dashboard's hash secret, or several separated by commas while rotating",
		parse: func(c *config, v string) (err error) { c.kkiapay.secrets, err = parseList(v); return err }},
	{name: "KKIAPAY_PUBLIC_KEY", secret: true,
		unset: "no confirmation: the header alone",
		doc:   "with `KKIAPAY_PRIVATE_KEY` and `KKIAPAY_SECRET_KEY` (all three or none, and only with `KKIAPAY_WEBHOOK_SECRET`): confirm every KKiaPay webhook with the status API before accepting it ([kkiapay.md](kkiapay.md#confirmation))",
		parse: func(c *config, v string) error { c.kkiapay.publicKey = secret.New(v); return nil }},
	{name: "KKIAPAY_PRIVATE_KEY", secret: true,
		doc:   "the status API's private key, with `KKIAPAY_PUBLIC_KEY`",
		parse: func(c *config, v string) error { c.kkiapay.privateKey = secret.New(v); return nil }},
	{name: "KKIAPAY_SECRET_KEY", secret: true,
		doc:   "the status API's secret key, with `KKIAPAY_PUBLIC_KEY`",
		parse: func(c *config, v string) error { c.kkiapay.secretKey = secret.New(v); return nil }},
	{name: "KKIAPAY_SANDBOX", def: "0",
		doc:   "`1`: confirm with KKiaPay's sandbox API; `0`: the live API",
		parse: func(c *config, v string) (err error) { c.kkiapay.sandbox, err = parseBool(v); return err }},
	{name: "KKIAPAY_API_URL",
		unset: "`https://api.kkiapay.me`",
		doc:   "the KKiaPay API's base URL instead (tests, proxies, `payhook sandbox`); wins over `KKIAPAY_SANDBOX`",
		parse: func(c *config, v string) error { c.kkiapay.apiURL = v; return nil }},
	{name: "KASPEROPAY_ENABLED", def: "0",
		doc:   "`1`: mounts `POST /webhooks/kasperopay`, confirming every webhook with KasperoPay's status API (its payload is unsigned)",
		parse: func(c *config, v string) (err error) { c.kasperopay.enabled, err = parseBool(v); return err }},
	{name: "KASPEROPAY_WEBHOOK_SECRET", secret: true,
		unset: "unsigned webhooks",
		doc:   "mounts it too, and requires `X-KasperoPay-Signature` (HMAC-SHA256 of the body); several separated by commas while rotating",
		parse: func(c *config, v string) (err error) { c.kasperopay.secrets, err = parseList(v); return err }},
	{name: "KASPEROPAY_API_URL",
		unset: "`https://kaspa-store.com`",
		doc:   "the status API's base URL",
		parse: func(c *config, v string) error { c.kasperopay.apiURL = v; return nil }},
	{name: "KASPEROPAY_STATUS_PATH",
		unset: "`/pay/status/`",
		doc:   "the status API's path, to which the payment id is appended",
		parse: func(c *config, v string) error { c.kasperopay.statusPath = v; return nil }},
	{name: "PAYHOOK_METRICS", def: "on",
		doc:   "`on`: the admin listener's `GET /metrics` serves Prometheus metrics; `off`: no `/metrics`",
		parse: func(c *config, v string) (err error) { c.metrics, err = parseOnOff(v); return err }},
	{name: "PAYHOOK_PPROF", def: "off",
		doc:   "`on`: the admin listener serves `net/http/pprof` under `/debug/pprof/`, for profiling (`scripts/load` turns it on with `PROFILE=1`)",
		parse: func(c *config, v string) (err error) { c.pprof, err = parseOnOff(v); return err }},
	{name: "PAYHOOK_FORWARD_URL", secret: true,
		unset: "print only, no inbox",
		doc:   "forward each processed event to the application at this http(s) URL, through the inbox of `PAYHOOK_STORE`'s backend ([below](#forwarding-to-your-application))",
		parse: func(c *config, v string) error { c.forwardURL = v; return nil }},
	{name: "PAYHOOK_FORWARD_SECRET", secret: true, needs: "PAYHOOK_FORWARD_URL",
		doc:   "the [Standard Webhooks](https://www.standardwebhooks.com) secret the forwards are signed with: `whsec_` and the base64 of at least 24 random bytes. Required with `PAYHOOK_FORWARD_URL`; an invalid one is refused at start; never printed",
		parse: func(c *config, v string) error { c.forwardSecret = secret.New(v); return nil }},
	{name: "PAYHOOK_FORWARD_TIMEOUT", def: forward.DefaultTimeout.String(), needs: "PAYHOOK_FORWARD_URL",
		doc: "how long the application may take to answer one forward, a Go duration; slower is a failure, retried",
		parse: func(c *config, v string) (err error) {
			c.forwardTimeout, err = parseDuration(v, time.Millisecond)
			return err
		}},
	{name: "PAYHOOK_INBOX_ATTEMPTS", def: strconv.Itoa(inbox.DefaultMaxAttempts), needs: "PAYHOOK_FORWARD_URL",
		doc:   "forwards of one event before its entry is dead (until replayed)",
		parse: parseAttempts},
	{name: "PAYHOOK_INBOX_BACKOFF", def: inbox.DefaultBackoff.String(), needs: "PAYHOOK_FORWARD_URL",
		doc:   "the wait before the first retry, a Go duration; each retry waits about twice as long as the one before (between half and all of it, at random), at most " + shortDuration(inbox.DefaultMaxBackoff),
		parse: func(c *config, v string) (err error) { c.inboxBackoff, err = parseDuration(v, 0); return err }},
	{name: "PAYHOOK_RECONCILE_BACKOFF", def: shortDuration(payhook.DefaultFirstPoll),
		doc: "the wait before the first poll of an expected payment's status (KKiaPay with its API keys, KasperoPay), a Go duration; the next polls wait 2, 5, 10 and 30 times it, then 60 times it until the deadline ([reconcile.md](reconcile.md#in-payhook-serve))",
		parse: func(c *config, v string) (err error) {
			c.reconcileBackoff, err = parseDuration(v, time.Millisecond)
			return err
		}},
}

// loadConfig reads every variable of the table through getenv, once. An
// unset or empty variable takes its default. Its errors name every
// variable that holds a value it cannot use, and quote no credential.
func loadConfig(getenv func(string) string) (*config, error) {
	c := &config{set: map[string]bool{}, limits: defaultLimits}
	var errs []error
	for _, v := range variables {
		val := getenv(v.name)
		if val != "" {
			c.set[v.name] = true
		} else if val = v.def; val == "" {
			continue
		}
		if err := v.parse(c, val); err != nil {
			if v.secret {
				errs = append(errs, fmt.Errorf("%s: %w", v.name, err))
			} else {
				errs = append(errs, fmt.Errorf("%s=%q: %w", v.name, val, err))
			}
		}
	}
	burst := 0
	if c.rateLimit != nil {
		burst = c.rateLimit.Burst
	}
	c.limits = c.limits.withRateLimit(burst)
	return c, errors.Join(errs...)
}

// checkServe refuses what serve cannot honour: a variable set without the
// one it needs (variable.needs), which serve would otherwise ignore; an
// admin listener open to the network without a token; half a TLS
// configuration.
func (c *config) checkServe() error {
	for _, v := range variables {
		if v.needs != "" && c.set[v.name] && !c.set[v.needs] {
			return fmt.Errorf("%s set without %s", v.name, v.needs)
		}
	}
	return errors.Join(c.checkAdmin(), c.checkTLS())
}

// secrets is a list of credentials: the ones accepted while rotating them,
// the first being the one a sender (payhook send, the sandbox) signs with.
type secrets []secret.Value

// reveal returns the credentials, for the code that uses them.
func (s secrets) reveal() []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = v.Reveal()
	}
	return out
}

// first returns the first credential, "" for none.
func (s secrets) first() string {
	if len(s) == 0 {
		return ""
	}
	return s[0].Reveal()
}

// parseList reads a comma-separated list of credentials, each trimmed. A
// value holding a comma cannot be given in it. An empty value (",",
// "a,,b") is an error: an empty secret is never a configuration.
func parseList(v string) (secrets, error) {
	var vs secrets
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s == "" {
			return nil, errors.New("holds an empty value (a comma too many?)")
		}
		vs = append(vs, secret.New(s))
	}
	return vs, nil
}

func parseBool(v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errors.New("want 1 or 0")
	}
	return b, nil
}

// parseDuration reads a Go duration ("30s", "500ms") of at least least
// (and not zero when least is positive).
func parseDuration(v string, least time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < least || (least > 0 && d == 0) {
		return 0, fmt.Errorf("want a duration such as 30s or 500ms, at least %s", max(least, time.Millisecond))
	}
	return d, nil
}

func parseAttempts(c *config, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return errors.New("want a whole number, 1 or more")
	}
	c.inboxAttempts = n
	return nil
}

func parseOnOff(v string) (bool, error) {
	switch v {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, errors.New("want on or off")
}

// defaultRateLimit is PAYHOOK_RATE_LIMIT when it is not set.
const defaultRateLimit = "20/s"

func parseRateLimit(c *config, v string) (err error) {
	c.rateSpec = v
	c.rateLimit, err = rateLimit(v)
	return err
}

// rateLimit reads PAYHOOK_RATE_LIMIT: "N/s", "N/m" or "N/h" (N requests a
// second, minute or hour per client, N at once at most), or "off" for none.
func rateLimit(spec string) (*payhook.RateLimit, error) {
	spec = strings.TrimSpace(spec)
	if spec == "off" {
		return nil, nil
	}
	bad := fmt.Errorf("want N/s, N/m or N/h (such as %s), or off", defaultRateLimit)
	n, unit, ok := strings.Cut(spec, "/")
	count, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
	if !ok || err != nil || count <= 0 || math.IsInf(count, 0) || count > 1e9 {
		return nil, bad
	}
	per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "min": time.Minute, "h": time.Hour}[strings.TrimSpace(unit)]
	if per == 0 {
		return nil, bad
	}
	return &payhook.RateLimit{Rate: rate.Limit(count / per.Seconds()), Burst: int(math.Ceil(count))}, nil
}

// shortDuration writes d as the docs do: 1h rather than 1h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
