package asynqinbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/payhook/payhook/inbox"
)

// Run implements [inbox.Backend] with an asynq server on the backend's
// queue, made for this call and shut down when ctx is done.
func (b *Backend) Run(ctx context.Context, h inbox.Handler, cfg inbox.RunConfig) error {
	if ctx.Err() != nil {
		return nil
	}
	if err := b.redis.Ping(ctx).Err(); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("asynqinbox: run: %w", err)
	}
	if cfg.Backoff == nil {
		cfg.Backoff = inbox.Backoff(inbox.DefaultBackoff, inbox.DefaultMaxBackoff)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = inbox.DefaultTimeout
	}
	// The attempts' contexts outlive ctx by the shutdown timeout, and are
	// canceled through a context of their own: were the context asynq
	// gives a task canceled, asynq would stop waiting for the handler and
	// put the task back while the handler still ran.
	attempts, cancelAttempts := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAttempts()
	w := &worker{b: b, h: h, cfg: cfg, attempts: attempts}
	srv := asynq.NewServerFromRedisClient(b.redis, asynq.Config{
		Concurrency:              max(cfg.Workers, 1),
		Queues:                   map[string]int{b.queue: 1},
		RetryDelayFunc:           w.retryDelay,
		IsFailure:                w.isFailure,
		ShutdownTimeout:          max(cfg.ShutdownTimeout, 0) + shutdownGrace,
		TaskCheckInterval:        b.poll,
		DelayedTaskCheckInterval: b.retryPoll,
		Logger:                   asynqLogger{b.logger, b.queue},
		LogLevel:                 asynq.DebugLevel, // asynqLogger asks b.logger
	})
	if err := srv.Start(w); err != nil {
		return fmt.Errorf("asynqinbox: run: %w", err)
	}
	<-ctx.Done()
	// Shutdown stops taking tasks and waits for the running ones; at
	// ShutdownTimeout their contexts are canceled, so that each handler
	// returns and its attempt ends before asynq puts the task back.
	timer := time.AfterFunc(max(cfg.ShutdownTimeout, 0), cancelAttempts)
	srv.Shutdown()
	timer.Stop()
	cancelAttempts()
	w.close() // and wait for a handler that outlived asynq's grace
	return nil
}

// worker is the asynq handler of one Run: it runs each task as an attempt
// of h and records how it ended.
type worker struct {
	b        *Backend
	h        inbox.Handler
	cfg      inbox.RunConfig
	attempts context.Context // canceled at the shutdown timeout

	mu      sync.Mutex
	closed  bool // Run is returning: no attempt may begin
	running sync.WaitGroup
}

// begin counts an attempt in, unless Run is returning.
func (w *worker) begin() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.running.Add(1)
	return true
}

// close lets no attempt begin, and waits for those running.
func (w *worker) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.running.Wait()
}

// attemptError is what ProcessTask returns for a failed attempt: the
// handler's error text (asynq keeps it as the task's last error), the
// attempt's number for the backoff, and asynq.SkipRetry when the attempt
// was the last.
type attemptError struct {
	text     string
	n        int
	dead     bool
	canceled bool
	drop     bool // asynq.RevokeTask: asynq deletes the task
}

func (e *attemptError) Error() string { return e.text }

func (e *attemptError) Unwrap() error {
	switch {
	case e.drop:
		return asynq.RevokeTask
	case e.dead:
		return asynq.SkipRetry
	}
	return nil
}

// canceled reports whether err ended an attempt because Run's shutdown
// canceled it.
func canceled(err error) bool {
	var ae *attemptError
	return errors.As(err, &ae) && ae.canceled
}

// isFailure is asynq's IsFailure: a canceled attempt is not one.
func (w *worker) isFailure(err error) bool { return !canceled(err) }

// retryDelay is asynq's RetryDelayFunc: RunConfig.Backoff of the attempt's
// number, or at once for a canceled attempt. n is asynq's retry count,
// used when asynq failed the task itself (a lease that ran out).
func (w *worker) retryDelay(n int, err error, _ *asynq.Task) time.Duration {
	var ae *attemptError
	switch {
	case canceled(err):
		return 0
	case errors.As(err, &ae):
		return w.cfg.Backoff(ae.n)
	}
	return w.cfg.Backoff(n + 1)
}

// ProcessTask implements asynq.Handler.
func (w *worker) ProcessTask(ctx context.Context, t *asynq.Task) error {
	if !w.begin() { // asynq gave up on it at shutdown, before it began
		return &attemptError{text: "asynqinbox: Run returned", canceled: true}
	}
	defer w.running.Done()
	b := w.b
	env, err := decode(t.Payload())
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	id := env.ID
	now := time.Now()
	res, err := startScript.Run(ctx, b.redis, []string{b.recKey(id), b.errsKey(id)},
		stamp(now), abandoned, keptErrors).Slice()
	if err != nil || len(res) != 3 {
		return fmt.Errorf("asynqinbox: starting attempt of %s: %v", id, err)
	}
	n, _ := res[0].(int64)
	a := inbox.Attempt{Entry: env.Entry, N: int(n)}
	if s, _ := res[1].(string); s != "" {
		a.MaxAttempts, _ = strconv.Atoi(s)
	}
	if prev, _ := res[2].(string); prev != "" && a.N > a.MaxAttempts {
		// The attempt before was the last, and its worker died: the
		// entry may be what kills its workers. (A task run again with
		// asynq's own tools, not Replay, gets one attempt.)
		w.end(id, a.N, endLast, nil, t.Payload())
		return &attemptError{text: abandoned, n: a.N - 1, dead: true}
	}

	actx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	stop := context.AfterFunc(w.attempts, cancel)
	herr := w.call(actx, a)
	stop()
	cancel()
	switch {
	case herr == nil:
		w.end(id, a.N, endDone, nil, nil)
		return nil
	case w.attempts.Err() != nil:
		w.end(id, a.N, endCancel, nil, nil)
		return &attemptError{text: herr.Error(), n: a.N, canceled: true}
	case inbox.IsDrop(herr):
		w.end(id, a.N, endDrop, nil, nil)
		return &attemptError{text: herr.Error(), n: a.N, drop: true}
	}
	dead := inbox.IsPermanent(herr) || a.N >= a.MaxAttempts
	outcome := endRetry
	if dead {
		outcome = endDead
	}
	w.end(id, a.N, outcome, herr, t.Payload())
	return &attemptError{text: herr.Error(), n: a.N, dead: dead}
}

// call runs the handler, turning a panic into an error.
func (w *worker) call(ctx context.Context, a inbox.Attempt) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("asynqinbox: handler panicked: %v\n%s", v, debug.Stack())
		}
	}()
	return w.h(ctx, a)
}

// end records how attempt n of id ended. It runs even when the attempt's
// context is done, within a bound of its own; a failure is logged, and
// asynq still records the outcome of the task.
func (w *worker) end(id string, n int, outcome string, herr error, payload []byte) {
	b := w.b
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := time.Now()
	var errJSON string
	if herr != nil {
		errJSON = attemptErrorJSON(n, now, herr)
	}
	err := endScript.Run(ctx, b.redis, []string{b.recKey(id), b.errsKey(id), b.deadKey(), b.unconfirmedKey()},
		n, outcome, errJSON, keptErrors, (b.retention + time.Minute).Milliseconds(),
		string(payload), id, stamp(now), now.UnixMilli()).Err()
	if err != nil {
		b.logger.LogAttrs(ctx, slog.LevelError, "asynqinbox: recording the end of an attempt",
			slog.String("queue", b.queue), slog.String("entry", id), slog.Int("attempt", n),
			slog.String("outcome", outcome), slog.Any("error", err))
	}
}

// asynqLogger passes asynq's messages to a slog.Logger.
type asynqLogger struct {
	l     *slog.Logger
	queue string
}

func (a asynqLogger) log(level slog.Level, args []any) {
	ctx := context.Background()
	if a.l.Enabled(ctx, level) {
		a.l.LogAttrs(ctx, level, "asynqinbox: asynq: "+fmt.Sprint(args...), slog.String("queue", a.queue))
	}
}

func (a asynqLogger) Debug(args ...any) { a.log(slog.LevelDebug, args) }
func (a asynqLogger) Info(args ...any)  { a.log(slog.LevelDebug, args) }

// Warn logs at warn level, but for asynq's word that a task was archived
// or revoked: that is an entry dying or dropped, which payhook logs itself.
func (a asynqLogger) Warn(args ...any) {
	level := slog.LevelWarn
	if len(args) == 1 {
		if s, _ := args[0].(string); strings.HasPrefix(s, "Retry exhausted for task") || strings.HasPrefix(s, "revoke task") {
			level = slog.LevelDebug
		}
	}
	a.log(level, args)
}

func (a asynqLogger) Error(args ...any) { a.log(slog.LevelError, args) }

// Fatal logs at error level; asynq's server calls it for nothing this
// package does, and the process is not asynq's to end.
func (a asynqLogger) Fatal(args ...any) { a.log(slog.LevelError, args) }
