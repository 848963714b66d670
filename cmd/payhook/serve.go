package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/forward"
)

// serve runs the webhook receiver until ctx is done. If ready is not nil,
// it receives the listening address once the server accepts connections.
func serve(ctx context.Context, args []string, cfg *config, stdout, stderr io.Writer, ready chan<- string) error {
	if len(args) > 0 {
		return fmt.Errorf("serve takes no arguments, it reads the environment (got %q)", args)
	}
	if err := cfg.needs(); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if err := startPprof(cfg.pprofAddr, logger); err != nil {
		return err
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

	opts := []payhook.Option{payhook.WithStore(conn.store), payhook.WithLogger(logger), payhook.WithClock(clock)}
	if cfg.rateLimit != nil {
		opts = append(opts, payhook.WithRateLimit(*cfg.rateLimit))
	}
	env := mountEnv{
		cfg:    cfg,
		out:    newLineWriter(stdout),
		opts:   opts,
		logger: logger,
	}
	env.forward, env.opts = gw.forwarder(), append(env.opts, gw.options()...)
	env.opts = append(env.opts, metrics.options()...)
	mux := http.NewServeMux()
	var mounted, replayable []string
	for _, m := range mounts {
		h, err := m.handler(env)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		if h == nil {
			continue
		}
		path := "/webhooks/" + m.name
		if gw == nil { // events are printed in the request: let the printer batch them
			h = env.out.track(h)
		}
		mux.Handle("POST "+path, h)
		mounted = append(mounted, path)
		if !m.detectsReplays {
			replayable = append(replayable, m.name)
		}
	}
	if len(mounted) == 0 {
		return errors.New("no provider configured: set KAZAWALLET_API_KEY and KAZAWALLET_API_SECRET, " +
			"KKIAPAY_WEBHOOK_SECRET, or KASPEROPAY_ENABLED=1 (see go doc github.com/payhook/payhook/cmd/payhook)")
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	if err := metrics.mount(mux, mounted, gw); err != nil {
		return err
	}

	if storeForgets(cfg.store) && len(replayable) > 0 {
		logger.Warn("payhook: the memory store forgets every processed event when payhook restarts, and these providers' "+
			"webhooks carry no signed time: a captured delivery would then be processed again. Set PAYHOOK_STORE to "+
			"redis://... or postgres://... (see docs/security.md)", "providers", strings.Join(replayable, " "))
	}
	return gw.run(ctx, func(ctx context.Context) error {
		return listenAndServe(ctx, "payhook", cfg.addr, mux, logger, ready, func(addr string) {
			logger.Info("payhook: listening", "addr", addr, "webhooks", strings.Join(mounted, " "), "store", storeName(cfg.store),
				"rate_limit", cfg.rateSpec)
		})
	})
}

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

// record is the line printed for each processed event.
type record[E any] struct {
	Provider string `json:"provider"`
	Key      string `json:"key"`
	Event    E      `json:"event"`
}

// printEvent is the handler of every provider: processing an event means
// printing it. If the line cannot be written the event is not acknowledged.
func printEvent[E any](name string, out *lineWriter) func(context.Context, E) error {
	return func(ctx context.Context, e E) error {
		key, _ := payhook.KeyFrom(ctx)
		return out.write(record[E]{Provider: name, Key: key, Event: e})
	}
}
