package riverinbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/payhook/payhook/inbox"
)

// Run implements [inbox.Backend]: it starts a River client that works the
// inbox's queue with h until ctx is done, then stops it gracefully: River's
// Stop, then, after cfg.ShutdownTimeout, StopAndCancel. An attempt canceled
// by that shutdown is put back by River without counting, and runs again at
// the next start. Run returns an error only when the client could not
// start (a configuration River refuses, a database it cannot reach).
func (b *Backend) Run(ctx context.Context, h inbox.Handler, cfg inbox.RunConfig) error {
	workers := river.NewWorkers()
	river.AddWorker(workers, &worker{h: h, b: b})
	client, err := river.NewClient(riverpgxv5.New(b.pool), b.runConfig(cfg, workers))
	if err != nil {
		return fmt.Errorf("riverinbox: run: %w", err)
	}
	// The client runs until told to stop, not until ctx is done: canceling
	// its start context would cancel the running attempts at once.
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("riverinbox: run: %w", err)
	}
	<-ctx.Done()
	stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := client.Stop(stop); err != nil {
		// The attempts still running are canceled; River waits for them
		// to return and records them.
		if err := client.StopAndCancel(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("riverinbox: run: stop: %w", err)
		}
	}
	return nil
}

// runConfig is the configuration of the River client of one Run.
func (b *Backend) runConfig(cfg inbox.RunConfig, workers *river.Workers) *river.Config {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = -1 // River's "no timeout"
	}
	rescue := cfg.Lease
	if rescue > 0 && rescue < cfg.Timeout {
		rescue = cfg.Timeout // River refuses a rescue before the timeout
	}
	backoff := cfg.Backoff
	if backoff == nil {
		backoff = inbox.Backoff(inbox.DefaultBackoff, inbox.DefaultMaxBackoff)
	}
	return &river.Config{
		Schema:  b.schema,
		Logger:  b.logger,
		Workers: workers,
		Queues:  map[string]river.QueueConfig{b.queue: {MaxWorkers: min(max(cfg.Workers, 1), 10_000)}},
		// Done entries go after their retention; dead ones stay until a
		// person replays or discards them.
		CompletedJobRetentionPeriod: b.doneRetention,
		CancelledJobRetentionPeriod: -1,
		DiscardedJobRetentionPeriod: -1,
		RetryPolicy:                 retryPolicy{backoff},
		JobTimeout:                  timeout,
		RescueStuckJobsAfter:        rescue,
		FetchPollInterval:           b.pollInterval,
		FetchCooldown:               min(b.fetchCooldown, b.pollInterval),
	}
}

// retryPolicy schedules the retry that follows a failed attempt after the
// inbox's backoff.
type retryPolicy struct{ backoff func(n int) time.Duration }

// NextRetry implements river.ClientRetryPolicy.
func (p retryPolicy) NextRetry(j *rivertype.JobRow) time.Time {
	return time.Now().Add(p.backoff(max(j.Attempt, 1)))
}

// worker runs the inbox's handler on each job.
type worker struct {
	river.WorkerDefaults[args]
	h inbox.Handler
	b *Backend
}

// completeTimeout bounds the completion of a job whose attempt succeeded.
const completeTimeout = 10 * time.Second

// Work implements river.Worker.
func (w *worker) Work(ctx context.Context, j *river.Job[args]) error {
	err := w.h(ctx, inbox.Attempt{Entry: j.Args.entry(j.MaxAttempts), N: j.Attempt})
	switch {
	case err == nil:
		w.complete(ctx, j)
		return nil
	case errors.Is(ctx.Err(), context.Canceled):
		// Only the client's shutdown cancels an attempt (a timeout is
		// DeadlineExceeded). River puts the job back without counting the
		// attempt when it returns context.Canceled, whatever the handler
		// made of its canceled context.
		if !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w (%w)", err, context.Canceled)
		}
		return err
	case inbox.IsDrop(err):
		return w.drop(ctx, j, err)
	case inbox.IsPermanent(err):
		return river.JobCancel(err)
	}
	return err
}

// drop deletes j, whose attempt returned an [inbox.Drop] error. River's
// completer then finds no job to record and does nothing. If the delete
// fails, the job is cancelled instead: dead, and kept.
func (w *worker) drop(ctx context.Context, j *river.Job[args], err error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), completeTimeout)
	defer cancel()
	if _, derr := w.b.pool.Exec(ctx, w.b.dropSQL, j.ID); derr != nil {
		w.b.logger.WarnContext(ctx, "riverinbox: deleting a dropped job failed; it is cancelled instead", "job", j.ID, "error", derr)
		return river.JobCancel(err)
	}
	return nil
}

// complete marks j completed in the database before Work returns, so that
// the worker takes no other job before the success of this one is
// durable. River's own completer records completions in batches, after the
// worker has moved on: a process killed in between ran its handler again,
// after a restart, on every job it had finished but not yet recorded (17 a
// kill, in issue 17's kill loop, for 8 workers). Now a kill repeats at most
// the attempts running at that moment. If the completion fails (the
// database is away), River's completer records it as before.
func (w *worker) complete(ctx context.Context, j *river.Job[args]) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), completeTimeout)
	defer cancel()
	err := pgx.BeginFunc(ctx, w.b.pool, func(tx pgx.Tx) error {
		_, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, j)
		return err
	})
	if err != nil {
		w.b.logger.WarnContext(ctx, "riverinbox: completing a job at once failed; River's completer records it", "job", j.ID, "error", err)
	}
}
