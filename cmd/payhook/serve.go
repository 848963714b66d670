package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/cmd/payhook/internal/opspage"
	"github.com/payhook/payhook/cmd/payhook/internal/sandbox"
	"github.com/payhook/payhook/forward"
)

// serveAddrs are the addresses serve listens on.
type serveAddrs struct {
	public string // PAYHOOK_ADDR: the webhooks and /healthz
	admin  string // PAYHOOK_ADMIN_ADDR: /metrics, pprof, the operator's endpoints; "" when off
}

// serve runs the webhook receiver until ctx is done. If ready is not nil,
// it receives the listening addresses once the servers accept connections.
func serve(ctx context.Context, args []string, cfg *config, stdout, stderr io.Writer, ready chan<- serveAddrs) error {
	if len(args) > 0 {
		return fmt.Errorf("serve takes no arguments, it reads the environment (got %q)", args)
	}
	if err := cfg.checkServe(); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	var cert *certFiles
	if cfg.tlsCert != "" {
		var err error
		if cert, err = loadCert(cfg.tlsCert, cfg.tlsKey, logger, clock); err != nil {
			return err
		}
	}
	conn, err := openConn(ctx, cfg.store, logger)
	if err != nil {
		return err
	}
	defer conn.close()
	gw, err := openGateway(ctx, cfg, conn, logger) // nil without PAYHOOK_FORWARD_URL
	if err != nil {
		return err
	}
	metrics := newMetrics(cfg) // nil with PAYHOOK_METRICS=off
	rec, err := openReconciler(ctx, cfg, conn, logger, metrics)
	if err != nil {
		return err
	}

	opts := []payhook.Option{payhook.WithStore(conn.store), payhook.WithLogger(logger), payhook.WithClock(clock)}
	opts = append(opts, rec.options()...)
	if cfg.rateLimit != nil {
		limit := *cfg.rateLimit
		limit.Key = cfg.proxies.client
		opts = append(opts, payhook.WithRateLimit(limit))
	}
	env := mountEnv{
		cfg:    cfg,
		out:    newLineWriter(stdout),
		opts:   opts,
		logger: logger,
	}
	env.forward, env.opts = gw.forwarder(), append(env.opts, gw.options()...)
	rates := opspage.NewRecorder(clock) // the operator's page's chart, from the calls /metrics counts
	env.opts = append(env.opts, payhook.WithObserver(payhook.Observers(metrics.observer(), rates.Observer())))
	public := http.NewServeMux()
	mounted, err := mountProviders(public, env, gw == nil)
	if err != nil {
		return err
	}
	public.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})

	// The admin listener: /metrics, pprof, and every operator endpoint.
	// Mount operator endpoints here, on admin, never on public: they are
	// then behind PAYHOOK_ADMIN_TOKEN.
	admin := http.NewServeMux()
	limited := &limitStats{}
	if err := metrics.mount(admin, mounted, gw, limited); err != nil {
		return err
	}
	if cfg.pprof {
		mountPprof(admin)
	}
	page, err := opsPage(conn, gw, rates, logger) // docs/operator.md
	if err != nil {
		return err
	}
	admin.Handle("/", page)
	rec.mount(admin, mounted, logger)

	eps := []endpoint{publicEndpoint(cfg, public, cert, limited, logger, mounted)}
	if cfg.adminAddr != "" {
		adminHandler := requireToken(cfg.adminToken, admin)
		if cfg.adminToken.IsZero() { // loopback (checkAdmin): refuse the Host of a page that rebinds its name to it
			adminHandler = localHosts("payhook admin", cfg.adminAddr, "PAYHOOK_ADMIN_ADDR", adminHandler)
		}
		eps = append(eps, endpoint{name: "payhook admin", addr: cfg.adminAddr, addrFrom: "PAYHOOK_ADMIN_ADDR", handler: adminHandler,
			listening: func(addr string) {
				logger.Info("payhook admin: listening", "addr", addr, "metrics", cfg.metrics, "pprof", cfg.pprof, "token", !cfg.adminToken.IsZero())
			}})
	}
	var readyAddrs func([]string)
	if ready != nil {
		readyAddrs = func(addrs []string) {
			a := serveAddrs{public: addrs[0]}
			if len(addrs) > 1 {
				a.admin = addrs[1]
			}
			ready <- a
		}
	}
	return rec.run(ctx, func(ctx context.Context) error {
		return gw.run(ctx, func(ctx context.Context) error {
			return listenAndServe(ctx, logger, readyAddrs, eps...)
		})
	})
}

// mountProviders mounts POST /webhooks/NAME on mux for each provider whose
// variables are set, and returns their paths. print says that events are
// printed in the request (no inbox): the printer then batches them.
func mountProviders(mux *http.ServeMux, env mountEnv, print bool) ([]string, error) {
	var mounted, replayable []string
	for _, m := range mounts {
		h, err := m.handler(env)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.name, err)
		}
		if h == nil {
			continue
		}
		path := "/webhooks/" + m.name
		if print {
			h = env.out.track(h)
		}
		mux.Handle("POST "+path, h)
		mounted = append(mounted, path)
		if !m.detectsReplays {
			replayable = append(replayable, m.name)
		}
	}
	if len(mounted) == 0 {
		return nil, errors.New("no provider configured: set KAZAWALLET_API_KEY and KAZAWALLET_API_SECRET, " +
			"KKIAPAY_WEBHOOK_SECRET, or KASPEROPAY_ENABLED=1 (see go doc github.com/payhook/payhook/cmd/payhook)")
	}
	if storeForgets(env.cfg.store) && len(replayable) > 0 {
		env.logger.Warn("payhook: the memory store forgets every processed event when payhook restarts, and these providers' "+
			"webhooks carry no signed time: a captured delivery would then be processed again. Set PAYHOOK_STORE to "+
			"redis://... or postgres://... (see docs/security.md)", "providers", strings.Join(replayable, " "))
	}
	return mounted, nil
}

// publicEndpoint is the listener of the webhooks: within the caps on
// connections and requests (cfg.limits), with short reads, over TLS when
// cert is not nil.
func publicEndpoint(cfg *config, mux http.Handler, cert *certFiles, limited *limitStats, logger *slog.Logger, mounted []string) endpoint {
	adm := newAdmission(cfg.limits, cfg.proxies.client, limited)
	ep := endpoint{
		name:     "payhook",
		addr:     cfg.addr,
		addrFrom: "PAYHOOK_ADDR",
		handler:  adm.wrap(warnSandbox(logger, mux)),
		server: func(srv *http.Server) {
			srv.MaxHeaderBytes = maxHeaderBytes
			srv.ReadHeaderTimeout = readHeaderTimeout
			srv.ReadTimeout = cfg.limits.read
			srv.IdleTimeout = cfg.limits.idle
		},
		listener: func(ln net.Listener) net.Listener { return limitConns(ln, cfg.limits, cfg.proxies, limited) },
		listening: func(addr string) {
			attrs := []any{"addr", addr, "webhooks", strings.Join(mounted, " "), "store", storeName(cfg.store), "rate_limit", cfg.rateSpec}
			if cert != nil {
				attrs = append(attrs, "https", true)
			}
			if len(cfg.proxies) > 0 {
				attrs = append(attrs, "trusted_proxies", len(cfg.proxies))
			}
			logger.Info("payhook: listening", attrs...)
		},
	}
	if cert != nil {
		ep.tls = cert.config()
	}
	return ep
}

// The public listener's bounds on reading a request's headers: 5 seconds
// and 32 KiB (the whole request: limits.read).
const (
	maxHeaderBytes    = 32 << 10
	readHeaderTimeout = 5 * time.Second
)

// warnSandbox logs at WARN each request that h gets from payhook sandbox
// (a POST marked with sandbox.Header) and acknowledges (2xx): signed with the
// merchant's credentials, it verifies, but no real payment is behind it,
// and a production receiver should never see one. The mark is a header
// anyone can send: a request that h refuses proves nothing of the
// credentials, and is not warned of.
func warnSandbox(logger *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(sandbox.Header) == "" || r.Method != http.MethodPost {
			h.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == 0 || (sw.status >= 200 && sw.status < 300) { // 0: nothing written, answered 200
			logger.Warn("payhook: a webhook from payhook sandbox (it carries "+sandbox.Header+"): its payment is not real. "+
				"If this is production, the sandbox holds your credentials: stop it and rotate them", "path", r.URL.Path)
		}
	})
}

// statusWriter records the status of the answer written through it.
type statusWriter struct {
	http.ResponseWriter
	status int // 0 until written
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap is for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// clock is serve's clock, for the rate limit; tests stop it.
var clock = time.Now

// mount is one provider's route, mounted when its environment is set.
type mount struct {
	name string
	// detectsReplays is true for a provider that refuses an old delivery
	// on its own (KasperoPay: its confirmed_at, or its signed timestamp),
	// whatever the store remembers.
	detectsReplays bool
	// handler returns the provider's handler, nil when its environment is
	// not set, or an error when it is set wrongly.
	handler func(env mountEnv) (http.Handler, error)
	// payment reads what payhook inbox shows of an event of the provider
	// (as the inbox keeps it, JSON) before discarding or replaying it.
	payment func(event []byte) (payment, error)
}

// payment is what payhook inbox shows of an entry's event before it
// discards or replays it: enough for the operator to know which payment.
type payment struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	Ref      string `json:"ref"` // the merchant's reference, as the event says it
}

// paymentOf reads an event of provider for payhook inbox; a zero payment
// when the provider is unknown or the event does not decode.
func paymentOf(provider string, event []byte) payment {
	for _, m := range mounts {
		if m.name == provider && m.payment != nil {
			if p, err := m.payment(event); err == nil {
				return p
			}
		}
	}
	return payment{}
}

// mountEnv is what serve gives every mount.
type mountEnv struct {
	cfg     *config
	out     *lineWriter        // where processed events are printed
	forward *forward.Forwarder // with PAYHOOK_FORWARD_URL: where they are sent first
	opts    []payhook.Option   // the store and the logger
	logger  *slog.Logger       // stderr
}

// handle is every provider's handler: payhook.Handle with printEvent, or
// with forwardEvent when serve forwards (gateway.go).
func handle[E any](env mountEnv, p payhook.Provider[E]) http.Handler {
	fn := printEvent[E](p.Name(), env.out)
	if env.forward != nil {
		fn = forwardEvent[E](p.Name(), env.out, env.forward, env.logger)
	}
	return payhook.Handle(p, fn, env.opts...)
}

// record is the line printed (and the body forwarded) for each processed
// event, whichever door it came through: its webhook, or a poll of the
// provider's status API (reconcile.go).
type record[E any] struct {
	Provider string `json:"provider"`
	Key      string `json:"key"`
	Event    E      `json:"event"`
	// Expectation is the expectation the payment matched and settled
	// (docs/reconcile.md): the order the application named when it
	// registered it. Absent when the payment matched none.
	Expectation *expectedOrder `json:"expectation,omitempty"`
}

// expectedOrder is an expectation as a record shows it.
type expectedOrder struct {
	ID       string `json:"id,omitempty"`
	Ref      string `json:"ref,omitempty"`
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// newRecord is the record of e, handled with ctx.
func newRecord[E any](ctx context.Context, name string, e E) record[E] {
	key, _ := payhook.KeyFrom(ctx)
	rec := record[E]{Provider: name, Key: key, Event: e}
	if x, ok := payhook.ExpectationFrom(ctx); ok {
		rec.Expectation = &expectedOrder{ID: x.ID, Ref: x.Ref, Amount: x.Amount, Currency: x.Currency}
	}
	return rec
}

// printEvent is the handler of every provider: processing an event means
// printing it. If the line cannot be written the event is not acknowledged.
func printEvent[E any](name string, out *lineWriter) func(context.Context, E) error {
	return func(ctx context.Context, e E) error {
		return out.write(newRecord(ctx, name, e))
	}
}
