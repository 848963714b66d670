package sqliteinbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/payhook/payhook/inbox"
)

// Run implements [inbox.Backend]: it runs due entries with h, at most
// cfg.Workers at once, until ctx is done, then waits up to
// cfg.ShutdownTimeout for the running attempts and cancels the others,
// whose entries are due again at once and whose attempts do not count. It
// returns an error only if the table cannot be read at the start.
func (b *Backend) Run(ctx context.Context, h inbox.Handler, cfg inbox.RunConfig) error {
	if err := b.reap(ctx); err != nil && ctx.Err() == nil {
		return fmt.Errorf("sqliteinbox: run: %w", err)
	}
	lease := cfg.Lease
	if lease <= cfg.Timeout {
		lease = max(2*cfg.Timeout, time.Minute)
	}
	r := inbox.NewRunner(ctx, cfg, h, func(a inbox.Attempt, err error, canceled bool) { b.finish(a, err, canceled, cfg) })
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	cleaned := time.Time{}
	for r.Acquire(ctx) {
		changed := b.changes() // before the take: a Put after it wakes the wait below
		a, ok, err := b.take(ctx, lease)
		if ok {
			r.Go(a)
			continue
		}
		r.Release()
		wait := b.poll
		if err != nil {
			if ctx.Err() == nil {
				b.logger.Warn("sqliteinbox: looking for due entries", "error", err)
			}
		} else if next, err := b.next(ctx); err == nil && !next.IsZero() {
			wait = min(wait, max(time.Until(next), time.Millisecond))
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-changed:
		case <-timer.C:
			if err := b.reap(ctx); err != nil && ctx.Err() == nil {
				b.logger.Warn("sqliteinbox: taking back abandoned attempts", "error", err)
			}
			if time.Since(cleaned) >= cleanupEvery {
				cleaned = time.Now()
				if _, err := b.Cleanup(ctx); err != nil && ctx.Err() == nil {
					b.logger.Warn("sqliteinbox: deleting old done entries", "error", err)
				}
			}
		}
	}
	r.Shutdown()
	return nil
}

// take marks the due pending entry with the earliest next_at running, with
// a lease, and returns its attempt; ok is false when none is due.
func (b *Backend) take(ctx context.Context, lease time.Duration) (a inbox.Attempt, ok bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	now := time.Now()
	var received int64
	err = b.db.QueryRowContext(ctx, b.takeSQL, sql.Named("lease", micros(now.Add(lease))), sql.Named("now", micros(now))).
		Scan(&a.ID, &a.Provider, &a.Key, &a.Event, &a.Confirm, &a.Claim, &a.MaxAttempts, &received, &a.N)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return a, false, nil
	case err != nil:
		return a, false, err
	}
	a.ReceivedAt = fromMicros(received)
	return a, true, nil
}

// next returns when the next pending entry is due, or the next running
// entry's lease ends; zero when there is none.
func (b *Backend) next(ctx context.Context) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	var n sql.NullInt64
	if err := b.db.QueryRowContext(ctx, b.nextSQL).Scan(&n); err != nil {
		return time.Time{}, err
	}
	if !n.Valid {
		return time.Time{}, nil
	}
	return fromMicros(n.Int64), nil
}

// reap makes the entries whose lease has ended (their worker was killed)
// pending again, due now, with the abandoned attempt's error; dead if that
// attempt was their last.
func (b *Backend) reap(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	now := time.Now()
	_, err := b.db.ExecContext(ctx, b.reapSQL, sql.Named("now", micros(now)),
		sql.Named("err", attemptError(0, now, "attempt abandoned: its worker did not answer within the lease (killed?)")))
	return err
}

// attemptError is the JSON of attempt n's error, its text cut to
// maxErrorLen. (reap sets the number of an abandoned attempt in SQL.)
func attemptError(n int, at time.Time, text string) string {
	if len(text) > maxErrorLen {
		text = text[:maxErrorLen] + "…"
	}
	b, _ := json.Marshal(inbox.AttemptError{Attempt: n, At: at.UTC(), Error: text})
	return string(b)
}

// finish writes the outcome of attempt a, if the entry is still a's:
// running, at that attempt. canceled says that Run's shutdown canceled it:
// the attempt does not count.
func (b *Backend) finish(a inbox.Attempt, herr error, canceled bool, cfg inbox.RunConfig) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	now := time.Now()
	args := []any{sql.Named("id", a.ID), sql.Named("n", a.N), sql.Named("now", micros(now))}
	query := b.finishDoneSQL
	switch {
	case canceled:
		query = b.finishCanceledSQL
	case inbox.IsDrop(herr):
		query = b.finishDropSQL
	case herr != nil:
		query = b.finishFailedSQL
		next := now
		if cfg.Backoff != nil {
			next = now.Add(cfg.Backoff(a.N))
		}
		args = append(args, sql.Named("dead", inbox.IsPermanent(herr)), sql.Named("next", micros(next)),
			sql.Named("err", attemptError(a.N, now, herr.Error())))
	}
	if _, err := b.db.ExecContext(ctx, query, args...); err != nil {
		b.logger.Error("sqliteinbox: the outcome of an attempt was not written; the entry runs again after its lease",
			"entry", a.ID, "attempt", a.N, "error", err)
		return
	}
	b.wake() // a retry may be due before the loops' timers
}
