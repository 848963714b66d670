package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/payhook/payhook/cmd/payhook/internal/redact"
	"github.com/payhook/payhook/inbox"
)

const inboxUsage = `usage: payhook inbox <command>

Operates the inbox that payhook serve forwards through (PAYHOOK_FORWARD_URL),
in the store that PAYHOOK_STORE names (the same variable as serve's):

  list [--dead] [--limit N]   one JSON line per entry, oldest first: id, provider, key, state,
                              attempts, max_attempts, last_error ("" once done), errors (each
                              failed attempt's), received_at, updated_at, next_at, amount,
                              currency, ref
  replay ID...                make dead entries pending again, with their attempts again
  replay --force ID...        done entries too: the application gets the event a second time
  replay --dead               replay every dead entry
  discard --force ID...       delete entries that are not running: their events are gone for good

Without --force, replay of a done entry and discard show what they would act
on (provider, key, amount, currency, reference) and do nothing.
`

// inboxCmd runs payhook inbox.
func inboxCmd(ctx context.Context, args []string, cfg *config, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, inboxUsage)
		if len(args) == 0 {
			return errors.New("inbox: no command")
		}
		return nil
	}
	fs := flag.NewFlagSet("payhook inbox "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, inboxUsage) }
	dead := fs.Bool("dead", false, "dead entries only (list), every dead entry (replay)")
	force := fs.Bool("force", false, "discard, or replay done entries (replay, discard)")
	limit := fs.Int("limit", 1000, "the most entries list prints")
	cmd := args[0]
	switch cmd {
	case "list", "replay", "discard":
	default:
		fmt.Fprint(stderr, inboxUsage)
		return fmt.Errorf("inbox: unknown command %q", cmd)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ids := fs.Args()
	switch {
	case cmd == "list" && len(ids) > 0:
		return fmt.Errorf("inbox list takes no IDs (got %q)", ids)
	case cmd == "replay" && *dead == (len(ids) > 0):
		return errors.New("inbox replay takes entry IDs, or --dead for every dead entry")
	case cmd == "discard" && (len(ids) == 0 || *dead):
		return errors.New("inbox discard takes entry IDs")
	case *limit < 1:
		return errors.New("inbox list --limit: want 1 or more")
	case *force && (cmd == "list" || *dead):
		return errors.New("inbox: --force applies to replay and discard of entry IDs")
	}

	ib, closeInbox, err := openInboxCmd(ctx, cfg.store, stderr)
	if err != nil {
		return err
	}
	defer closeInbox()
	switch cmd {
	case "list":
		f := inbox.Filter{Limit: *limit}
		if *dead {
			f.State = inbox.Dead
		}
		return listEntries(ctx, ib, f, stdout)
	case "replay":
		if *dead {
			replayed, err := ib.ReplayDead(ctx)
			for _, id := range replayed {
				fmt.Fprintln(stdout, "replayed", id)
			}
			if err != nil {
				return fmt.Errorf("inbox replay --dead: %w", err)
			}
			if len(replayed) == 0 {
				fmt.Fprintln(stderr, "payhook: no dead entry")
			}
			return nil
		}
		return eachEntry(ctx, ib, ids, "replay", "replayed", *force, stdout, stderr, ib.Replay)
	default:
		return eachEntry(ctx, ib, ids, "discard", "discarded", *force, stdout, stderr, ib.Discard)
	}
}

// openInboxCmd opens the inbox of the store spec names, without creating a
// SQLite file that is not there.
func openInboxCmd(ctx context.Context, spec string, stderr io.Writer) (*inbox.Inbox, func(), error) {
	conn, logger, err := openExisting(ctx, spec, "inbox", errMemoryInbox, stderr)
	if err != nil {
		return nil, nil, err
	}
	backend, err := conn.inboxBackend(ctx, logger, true)
	if err != nil {
		conn.close()
		return nil, nil, err
	}
	ib, err := inbox.New(backend)
	if err != nil {
		conn.close()
		return nil, nil, err
	}
	return ib, conn.close, nil
}

// openExisting connects an operator's command (payhook inbox, payhook
// expect) to the store spec names, as serve does, but never creates a
// SQLite file that is not there: the command must act on serve's own.
// memory is refused with errMemory, since that store lives in serve's
// process. The logger writes warnings to stderr.
func openExisting(ctx context.Context, spec, command string, errMemory error, stderr io.Writer) (*storeConn, *slog.Logger, error) {
	if spec == "memory" {
		return nil, nil, errMemory
	}
	if path, ok := sqlitePath(spec); ok && path != "" {
		if _, err := os.Stat(path); err != nil {
			return nil, nil, fmt.Errorf("%s: %w (payhook serve creates it; run payhook %s where serve runs, or set PAYHOOK_STORE)",
				storeName(spec), errors.Unwrap(err), command)
		}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	conn, err := openConn(ctx, spec, logger)
	if err != nil {
		return nil, nil, err
	}
	return conn, logger, nil
}

// sqlitePath returns the SQLite file spec names, and whether it names one.
func sqlitePath(spec string) (string, bool) {
	if spec == "" {
		return defaultSQLite, true
	}
	return strings.CutPrefix(spec, "sqlite:")
}

// entryLine is one entry as payhook inbox list prints it.
type entryLine struct {
	ID          string `json:"id"`
	Provider    string `json:"provider"`
	Key         string `json:"key"`
	State       string `json:"state"`
	Attempts    int    `json:"attempts"`
	MaxAttempts int    `json:"max_attempts"`
	LastError   string `json:"last_error"`
	// Errors are the failed attempts' errors the backend keeps, oldest
	// first: history, a done entry's included.
	Errors     []inbox.AttemptError `json:"errors,omitempty"`
	ReceivedAt time.Time            `json:"received_at"`
	UpdatedAt  time.Time            `json:"updated_at,omitzero"`
	NextAt     *time.Time           `json:"next_at,omitempty"`
	payment
}

// lineOf is e as payhook inbox prints it, its errors without the secrets a
// URL in them may hold. A done entry has no last_error: its last attempt
// succeeded; the errors of the attempts before it are in errors.
func lineOf(e inbox.Info) entryLine {
	line := entryLine{ID: e.ID, Provider: e.Provider, Key: e.Key, State: e.State.String(), Attempts: e.Attempts,
		MaxAttempts: e.MaxAttempts, ReceivedAt: e.ReceivedAt, UpdatedAt: e.UpdatedAt,
		payment: paymentOf(e.Provider, e.Event)}
	for _, ae := range e.Errors {
		ae.Error = redact.URLs(ae.Error)
		line.Errors = append(line.Errors, ae)
	}
	if e.State != inbox.Done {
		line.LastError = redact.URLs(e.LastError())
	}
	if e.State == inbox.Pending && !e.NextAt.IsZero() {
		line.NextAt = &e.NextAt
	}
	return line
}

func listEntries(ctx context.Context, ib *inbox.Inbox, f inbox.Filter, stdout io.Writer) error {
	entries, err := ib.List(ctx, f)
	if err != nil {
		return fmt.Errorf("inbox list: %w", err)
	}
	return writeLines(stdout, entries, lineOf)
}

// writeLines writes each of xs to w as one JSON line, through line: the
// output of payhook inbox list and payhook expect list, for jq and for
// scripts.
func writeLines[T, L any](w io.Writer, xs []T, line func(T) L) error {
	enc := json.NewEncoder(w)
	for _, x := range xs {
		if err := enc.Encode(line(x)); err != nil {
			return err
		}
	}
	return nil
}

// eachEntry runs op (replay or discard) on every ID, saying what it did to
// each, and fails if it failed for any. Without force, it shows and leaves
// the entries whose loss cannot be undone: every one for discard, the done
// ones for replay (their event would reach the application twice).
func eachEntry(ctx context.Context, ib *inbox.Inbox, ids []string, op, done string, force bool, stdout, stderr io.Writer,
	f func(ctx context.Context, id string) error) error {
	failed, held := 0, 0
	for _, id := range ids {
		info, err := ib.Get(ctx, id)
		if err == nil && !force && (op == "discard" || info.State == inbox.Done) {
			fmt.Fprintf(stderr, "payhook: %s: not %s without --force: %s\n", id, done, describeEntry(info))
			held++
			continue
		}
		if err == nil {
			err = f(ctx, id)
		}
		switch {
		case err == nil:
			fmt.Fprintln(stdout, done, id)
			continue
		case errors.Is(err, inbox.ErrNotFound):
			fmt.Fprintf(stderr, "payhook: %s: no such entry\n", id)
		case errors.Is(err, inbox.ErrState):
			why := "it is running"
			if op == "replay" {
				why = "it is pending or running: only dead and done entries are replayed"
			}
			fmt.Fprintf(stderr, "payhook: %s: not %s: %s\n", id, done, why)
		default:
			fmt.Fprintf(stderr, "payhook: %s: %v\n", id, err)
		}
		failed++
	}
	if held > 0 {
		why := "a discarded event is gone for good"
		if op == "replay" {
			why = "a done entry replayed reaches the application a second time"
		}
		return fmt.Errorf("inbox %s: %d of %d entries left as they are: %s; run again with --force once sure", op, held+failed, len(ids), why)
	}
	if failed > 0 {
		return fmt.Errorf("inbox %s: %d of %d entries not %s", op, failed, len(ids), done)
	}
	return nil
}

// describeEntry says which payment an entry holds, for the operator to
// check before acting on it.
func describeEntry(e inbox.Info) string {
	p := paymentOf(e.Provider, e.Event)
	return fmt.Sprintf("%s, key %q, amount %s %s, reference %q, %s after %d attempts",
		e.Provider, e.Key, or(p.Amount, "?"), or(p.Currency, "?"), p.Ref, e.State, e.Attempts)
}
