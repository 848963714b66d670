package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/expect"
)

const expectUsage = `usage: payhook expect <command>

Operates the payments serve expects (docs/reconcile.md), in the store that
PAYHOOK_STORE names (the same variable as serve's):

  add PROVIDER (--id ID | --ref REF) --amount AMOUNT --currency CURRENCY [--deadline DURATION]
        expect a payment: by the provider's payment id (KKiaPay's transaction id,
        KasperoPay's payment id: polled at once, then on serve's backoff), and/or by
        your reference (Kazawallet's ref); overdue after --deadline (default 24h)
        with no outcome
  list [--overdue] [--state STATE] [--provider PROVIDER] [--limit N]
        one JSON line per expectation, the earliest deadline first: provider, id, ref,
        amount, currency, deadline, state (pending, settled, overdue or cancelled),
        payment_id, outcome, attempts, next_poll
  cancel PROVIDER ID        no longer expect it (cancel PROVIDER --ref REF for one added by ref)
`

// expectCmd runs payhook expect.
func expectCmd(ctx context.Context, args []string, cfg *config, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, expectUsage)
		if len(args) == 0 {
			return errors.New("expect: no command")
		}
		return nil
	}
	cmd := args[0]
	fs := flag.NewFlagSet("payhook expect "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, expectUsage) }
	var f expectFlags
	switch cmd {
	case "add":
		fs.StringVar(&f.id, "id", "", "the provider's payment id")
		fs.StringVar(&f.ref, "ref", "", "your reference")
		fs.StringVar(&f.amount, "amount", "", "the amount expected, such as 10.00")
		fs.StringVar(&f.currency, "currency", "", "the currency expected: USD, XOF, KAS...")
		fs.DurationVar(&f.deadline, "deadline", payhook.DefaultExpectDeadline, "overdue after this long with no outcome")
	case "list":
		fs.BoolVar(&f.overdue, "overdue", false, "overdue expectations only")
		fs.StringVar(&f.state, "state", "", "pending, settled, overdue or cancelled only")
		fs.StringVar(&f.provider, "provider", "", "one provider's only")
		fs.IntVar(&f.limit, "limit", 1000, "the most expectations printed")
	case "cancel":
		fs.StringVar(&f.ref, "ref", "", "cancel the expectation of this reference")
	default:
		fmt.Fprint(stderr, expectUsage)
		return fmt.Errorf("expect: unknown command %q", cmd)
	}
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	if err := f.check(cmd, pos); err != nil {
		return err
	}
	store, closeStore, err := openExpectCmd(ctx, cfg.store, stderr)
	if err != nil {
		return err
	}
	defer closeStore()
	switch cmd {
	case "add":
		// Due at once: an operator adds the payment they know of, which
		// may be paid already; serve's reconciler spaces the next polls.
		now := time.Now()
		x := expect.Expectation{Provider: pos[0], ID: f.id, Ref: f.ref, Amount: f.amount, Currency: f.currency,
			Deadline: now.Add(f.deadline), NextPoll: now}
		if err := addExpectation(ctx, newReconciler(cfg, store), x, stdout); err != nil {
			return fmt.Errorf("expect add: %w", err)
		}
		if f.id == "" && pos[0] != "kazawallet" {
			fmt.Fprintln(stderr, "payhook: no --id: this expectation cannot be polled; it is settled by its webhook, or reported overdue")
		}
		return nil
	case "list":
		filter := expect.Filter{Provider: f.provider, Limit: f.limit}
		if f.overdue {
			filter.State = expect.Overdue
		} else if f.state != "" {
			filter.State, _ = expect.ParseState(f.state) // checked
		}
		return listExpectations(ctx, store, filter, stdout)
	default:
		k := expect.Key{Provider: pos[0], Ref: f.ref}
		if f.ref == "" {
			k.ID = pos[1]
		}
		switch err := store.Cancel(ctx, k); {
		case errors.Is(err, expect.ErrNotFound):
			return fmt.Errorf("expect cancel: %s: no such expectation", k)
		case errors.Is(err, expect.ErrState):
			return fmt.Errorf("expect cancel: %s: settled already, by its payment", k)
		case err != nil:
			return fmt.Errorf("expect cancel: %w", err)
		}
		fmt.Fprintln(stdout, "cancelled", k)
		return nil
	}
}

// expectFlags are payhook expect's flags.
type expectFlags struct {
	id, ref, amount, currency string
	deadline                  time.Duration
	overdue                   bool
	state, provider           string
	limit                     int
}

// check refuses what cmd cannot do with f and the arguments pos.
func (f expectFlags) check(cmd string, pos []string) error {
	want := map[string]int{"add": 1, "list": 0, "cancel": 2}[cmd]
	if cmd == "cancel" && f.ref != "" {
		want = 1
	}
	if len(pos) != want {
		return fmt.Errorf("expect %s: want %d argument(s), got %q (payhook expect -h)", cmd, want, pos)
	}
	if want > 0 {
		if err := knownProvider(pos[0]); err != nil {
			return fmt.Errorf("expect %s: %w", cmd, err)
		}
	}
	switch {
	case cmd == "add" && f.id == "" && f.ref == "":
		return errors.New("expect add: give --id, --ref or both")
	case cmd == "add" && (f.amount == "" || f.currency == ""):
		return errors.New("expect add: --amount and --currency are required")
	case cmd == "add" && f.deadline <= 0:
		return errors.New("expect add: --deadline: want a duration above zero, such as 30m or 24h")
	case cmd == "list" && f.overdue && f.state != "":
		return errors.New("expect list: --overdue is --state overdue: give one")
	case cmd == "list" && f.limit < 1:
		return errors.New("expect list --limit: want 1 or more")
	case cmd == "list" && f.state != "":
		if _, err := expect.ParseState(f.state); err != nil {
			return fmt.Errorf("expect list --state: %w", err)
		}
	}
	return nil
}

// knownProvider refuses a name that is no provider serve mounts.
func knownProvider(name string) error {
	names := make([]string, len(mounts))
	for i, m := range mounts {
		names[i] = m.name
	}
	if !slices.Contains(names, name) {
		return fmt.Errorf("unknown provider %q (want %s)", name, strings.Join(names, ", "))
	}
	return nil
}

// parseInterleaved parses args with fs, flags before, between and after
// the positional arguments, which it returns.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
}

// openExpectCmd opens the expectations of the store spec names, without
// creating a SQLite file that is not there.
func openExpectCmd(ctx context.Context, spec string, stderr io.Writer) (expect.Store, func(), error) {
	conn, _, err := openExisting(ctx, spec, "expect", errMemoryExpectations, stderr)
	if err != nil {
		return nil, nil, err
	}
	store, err := conn.expectations(ctx, true)
	if err != nil {
		conn.close()
		return nil, nil, err
	}
	return store, conn.close, nil
}

// expectationLine is one expectation as payhook expect list prints it, and
// as serve's admin endpoint answers it.
type expectationLine struct {
	Provider  string     `json:"provider"`
	ID        string     `json:"id"`
	Ref       string     `json:"ref"`
	Amount    string     `json:"amount"`
	Currency  string     `json:"currency"`
	Deadline  time.Time  `json:"deadline"`
	State     string     `json:"state"`
	CreatedAt time.Time  `json:"created_at"`
	PaymentID string     `json:"payment_id,omitempty"`
	Outcome   string     `json:"outcome,omitempty"`
	SettledAt *time.Time `json:"settled_at,omitempty"`
	Attempts  int        `json:"attempts"`
	NextPoll  *time.Time `json:"next_poll,omitempty"`
}

func expectationLineOf(x expect.Expectation) expectationLine {
	l := expectationLine{Provider: x.Provider, ID: x.ID, Ref: x.Ref, Amount: x.Amount, Currency: x.Currency,
		Deadline: x.Deadline.UTC(), State: x.State.String(), CreatedAt: x.CreatedAt.UTC(), PaymentID: x.PaymentID,
		Outcome: x.Outcome, Attempts: x.Attempts}
	if !x.SettledAt.IsZero() {
		at := x.SettledAt.UTC()
		l.SettledAt = &at
	}
	if x.State == expect.Pending && x.ID != "" && !x.NextPoll.IsZero() {
		at := x.NextPoll.UTC()
		l.NextPoll = &at
	}
	return l
}

// addExpectation adds x through r (its first poll after the first wait)
// and writes it, as stored, as one JSON line.
func addExpectation(ctx context.Context, r *payhook.Reconciler, x expect.Expectation, w io.Writer) error {
	if err := r.Expect(ctx, x); err != nil {
		return err
	}
	stored, err := r.Store().Get(ctx, x.Key())
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(expectationLineOf(stored))
}

func listExpectations(ctx context.Context, store expect.Store, f expect.Filter, w io.Writer) error {
	xs, err := store.List(ctx, f)
	if err != nil {
		return fmt.Errorf("expect list: %w", err)
	}
	return writeLines(w, xs, expectationLineOf)
}
