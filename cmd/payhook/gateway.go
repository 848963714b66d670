package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/forward"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/asynqinbox"
	"github.com/payhook/payhook/inbox/riverinbox"
	"github.com/payhook/payhook/inbox/sqliteinbox"
)

// gateway is serve forwarding each processed event to the application
// (PAYHOOK_FORWARD_URL), through the inbox of the store's backend.
type gateway struct {
	fwd *forward.Forwarder
	ib  *inbox.Inbox
	b   inbox.Backend // ib's
}

// openGateway opens the inbox on conn's backend and the forwarder, as cfg
// says. Without PAYHOOK_FORWARD_URL it returns nil: serve prints each
// event itself (config.needs refuses the other forward variables alone).
//
// Each attempt is bounded by PAYHOOK_FORWARD_TIMEOUT (the forwarder's) and
// one second more (the inbox's, so that the forwarder's clearer error comes
// first); an attempt whose process was killed is retried after twice that,
// the inbox's lease.
func openGateway(ctx context.Context, cfg *config, conn *storeConn, logger *slog.Logger) (*gateway, error) {
	if cfg.forwardURL == "" {
		return nil, nil
	}
	if cfg.forwardSecret.IsZero() {
		return nil, errors.New("PAYHOOK_FORWARD_URL needs PAYHOOK_FORWARD_SECRET, the secret the application verifies " +
			"the forwarded requests with: whsec_ and the base64 of at least 24 random bytes (echo whsec_$(openssl rand -base64 32))")
	}
	timeout, attempts, backoff := cfg.forwardTimeout, cfg.inboxAttempts, cfg.inboxBackoff
	fwd, err := forward.New(cfg.forwardURL, cfg.forwardSecret.Reveal(), forward.WithTimeout(timeout))
	switch {
	case errors.Is(err, forward.ErrSecret):
		return nil, fmt.Errorf("PAYHOOK_FORWARD_SECRET: %w", err) // the error never quotes the secret
	case err != nil:
		return nil, fmt.Errorf("PAYHOOK_FORWARD_URL: %w", err)
	}
	backend, err := conn.inboxBackend(ctx, logger, false)
	if err != nil {
		return nil, err
	}
	attempt := timeout + time.Second
	ib, err := inbox.New(backend, inbox.WithMaxAttempts(attempts), inbox.WithBackoff(backoff, max(backoff, inbox.DefaultMaxBackoff)),
		inbox.WithTimeout(attempt), inbox.WithLease(2*attempt))
	if err != nil {
		return nil, err
	}
	logger.Info("payhook: forwarding processed events through the inbox", "forward", fwd,
		"inbox", inboxName(backend), "attempts", attempts, "backoff", backoff, "timeout", timeout)
	return &gateway{fwd: fwd, ib: ib, b: backend}, nil
}

// forwardEvent is the handler of every provider when serve forwards:
// processing an event means posting its record (the line printEvent
// prints) to the application, and printing it once the application has
// taken it (answered 2xx). The webhook-id is provider:key, the same for
// every retry of the event. An error makes the inbox retry the event.
func forwardEvent[E any](name string, out *lineWriter, fwd *forward.Forwarder, logger *slog.Logger) func(context.Context, E) error {
	return func(ctx context.Context, e E) error {
		rec := newRecord(ctx, name, e)
		key := rec.Key
		body, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if err := fwd.Send(ctx, name+":"+key, body); err != nil {
			if forward.IsPermanent(err) { // 410 Gone, or a request that cannot be sent: dead at once
				return inbox.Permanent(err)
			}
			return err
		}
		if err := out.write(json.RawMessage(body)); err != nil {
			// The application has the event: sending it again for a
			// line that could not be printed would be worse than the
			// missing line.
			logger.Error("payhook: event forwarded, but its line could not be printed", "provider", name, "key", key, "error", err)
		}
		return nil
	}
}

// options returns the handlers' option that keeps events in the inbox;
// none for a nil gateway.
func (g *gateway) options() []payhook.Option {
	if g == nil {
		return nil
	}
	return []payhook.Option{payhook.WithInbox(g.ib)}
}

// forwarder returns where events are sent; nil for a nil gateway (serve
// prints only).
func (g *gateway) forwarder() *forward.Forwarder {
	if g == nil {
		return nil
	}
	return g.fwd
}

// inbox returns the gateway's inbox; nil for a nil gateway.
func (g *gateway) inbox() *inbox.Inbox {
	if g == nil {
		return nil
	}
	return g.ib
}

// backend returns the backend of the gateway's inbox; nil for a nil
// gateway.
func (g *gateway) backend() inbox.Backend {
	if g == nil {
		return nil
	}
	return g.b
}

// run runs serve and, beside it, the inbox: the inbox starts with serve,
// and once serve has returned (ctx is done, or it failed), stops
// gracefully, letting the attempts running finish (inbox's shutdown
// timeout); the rest run at the next start. A nil gateway runs serve
// alone.
func (g *gateway) run(ctx context.Context, serve func(context.Context) error) error {
	if g == nil {
		return serve(ctx)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- g.ib.Run(runCtx) }()
	err := serve(ctx)
	stop()
	if rerr := <-done; rerr != nil {
		err = errors.Join(err, fmt.Errorf("inbox: %w", rerr))
	}
	return err
}

// inboxName names the inbox's backend for the log.
func inboxName(b inbox.Backend) string {
	switch b.(type) {
	case *inbox.Memory:
		return "memory"
	case *sqliteinbox.Backend:
		return "sqlite (sqliteinbox, same file as the store)"
	case *riverinbox.Backend:
		return "postgres (riverinbox, schema payhook, same database as the store)"
	case *asynqinbox.Backend:
		return "redis (asynqinbox, queue payhook, same server as the store)"
	}
	return fmt.Sprintf("%T", b)
}
