package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/expect"
)

// reconcileLease is how long serve's reconciler holds an expectation it
// took for a poll from the other replicas, given the first wait: ten
// first waits, between 2 seconds and payhook.DefaultPollLease (two
// minutes, by the default first wait of a minute). A replica killed
// mid-poll leaves its expectations to be polled again once their lease
// ends. A poll that outlasts its lease (a slow status API) may be made by
// a second replica too: one more status call, never a second event, since
// both doors go through the one idempotency key.
func reconcileLease(first time.Duration) time.Duration {
	return min(max(10*first, 2*time.Second), payhook.DefaultPollLease)
}

// reconciler is serve's second door (docs/reconcile.md): the expectations
// in the store's backend, and the payhook.Reconciler that polls the
// providers' status APIs for those no webhook settled and reports the
// overdue ones.
type reconciler struct {
	r *payhook.Reconciler
}

// openReconciler opens the expectations on conn's backend and makes the
// reconciler of serve: first poll after PAYHOOK_RECONCILE_BACKOFF, a pass
// at most every second (sooner with a shorter backoff), overdue
// expectations logged at ERROR and counted on /metrics.
func openReconciler(ctx context.Context, cfg *config, conn *storeConn, logger *slog.Logger, m *metrics) (*reconciler, error) {
	store, err := conn.expectations(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("expectations: %w", err)
	}
	r := newReconciler(cfg, store, payhook.WithReconcileLogger(logger), payhook.WithReconcileObserver(m.reconcileObserver()))
	return &reconciler{r: r}, nil
}

// newReconciler is the reconciler of store as cfg sets it, for serve and
// for payhook expect add (whose expectations it schedules as serve would).
func newReconciler(cfg *config, store expect.Store, opts ...payhook.ReconcileOption) *payhook.Reconciler {
	first := cfg.reconcileBackoff
	if first <= 0 {
		first = payhook.DefaultFirstPoll
	}
	return payhook.NewReconciler(store, append([]payhook.ReconcileOption{
		payhook.WithFirstPoll(first),
		payhook.WithPollInterval(min(first, payhook.DefaultPollInterval)),
		payhook.WithPollLease(reconcileLease(first)),
	}, opts...)...)
}

// options returns the handlers' option: each provider registers with the
// reconciler (polled when it has a status API), and its payments are
// checked against their expectations; a payment with none is handed over
// all the same (payhook.ErrUnexpected), since serve's application may keep
// its own orders.
func (rc *reconciler) options() []payhook.Option {
	return []payhook.Option{payhook.WithReconciler(rc.r)}
}

// mount serves the expectations endpoints (expectapi.go) on the admin
// listener's mux, for the mounted routes' providers.
func (rc *reconciler) mount(admin *http.ServeMux, mounted []string, logger *slog.Logger) {
	names := make([]string, len(mounted))
	for i, path := range mounted {
		names[i] = strings.TrimPrefix(path, "/webhooks/")
	}
	mountExpectations(admin, rc.r, names, logger)
}

// run runs serve and, beside it, the reconciler, which polls what is due
// at once; the reconciler stops when serve returns.
func (rc *reconciler) run(ctx context.Context, serve func(context.Context) error) error {
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- rc.r.Run(runCtx) }()
	err := serve(ctx)
	stop()
	if rerr := <-done; rerr != nil {
		err = errors.Join(err, fmt.Errorf("reconciler: %w", rerr))
	}
	return err
}
