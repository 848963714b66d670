package riverinbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/pgstore"
	"github.com/payhook/payhook/inbox"
)

// args are an entry as River job args. River keeps args as jsonb, which
// reorders an object's keys and drops its spaces: the event is kept as a
// JSON string (its bytes as they were), or in base64 if it is not UTF-8.
type args struct {
	ID         string `json:"id" river:"unique"`
	Provider   string `json:"provider"`
	Key        string `json:"key"`
	Event      string `json:"event,omitempty"`
	EventBytes []byte `json:"event_bytes,omitempty"`
	Confirm    bool   `json:"confirm,omitempty"`
	Claim      bool   `json:"claim,omitempty"`
	// MaxAttempts is the one the entry was put with: Replay grants it
	// again. The job's max_attempts is the current one.
	MaxAttempts int       `json:"max_attempts"`
	ReceivedAt  time.Time `json:"received_at"`
}

// Kind implements river.JobArgs.
func (args) Kind() string { return Kind }

func argsOf(e inbox.Entry) args {
	a := args{ID: e.ID, Provider: e.Provider, Key: e.Key, Confirm: e.Confirm, Claim: e.Claim,
		MaxAttempts: e.MaxAttempts, ReceivedAt: e.ReceivedAt}
	if a.MaxAttempts <= 0 {
		a.MaxAttempts = inbox.DefaultMaxAttempts
	}
	if utf8.Valid(e.Event) {
		a.Event = string(e.Event)
	} else {
		a.EventBytes = e.Event
	}
	return a
}

// entry returns the entry of a, whose job allows maxAttempts attempts.
func (a args) entry(maxAttempts int) inbox.Entry {
	e := inbox.Entry{ID: a.ID, Provider: a.Provider, Key: a.Key, Event: a.EventBytes, Confirm: a.Confirm,
		Claim: a.Claim, MaxAttempts: maxAttempts, ReceivedAt: a.ReceivedAt}
	if a.Event != "" {
		e.Event = []byte(a.Event)
	}
	return e
}

// everyState is every state of a River job: an entry's ID stays unique
// whatever its job's state, done and dead included.
var everyState = rivertype.JobStates()

func (b *Backend) insertOpts(a args) *river.InsertOpts {
	return &river.InsertOpts{
		Queue:       b.queue,
		MaxAttempts: a.MaxAttempts,
		UniqueOpts:  river.UniqueOpts{ByArgs: true, ByQueue: true, ByState: everyState},
	}
}

// Put implements [inbox.Backend]: River's unique insert.
func (b *Backend) Put(ctx context.Context, e inbox.Entry) (bool, error) {
	a := argsOf(e)
	res, err := b.client.Insert(ctx, a, b.insertOpts(a))
	if err != nil {
		return false, fmt.Errorf("riverinbox: put: %w", err)
	}
	return !res.UniqueSkippedAsDuplicate, nil
}

// PutComplete implements [inbox.Completer]: when store is a
// *pgstore.Store on the Backend's database, the job is inserted and the
// claim completed in one transaction, and neither happens if either fails.
// For any other store it reports handled false and does nothing.
func (b *Backend) PutComplete(ctx context.Context, e inbox.Entry, store idempotency.Store, key, token string, retention time.Duration) (added, handled bool, err error) {
	s, ok := store.(*pgstore.Store)
	if !ok {
		return false, false, nil
	}
	err = pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		if err := s.CompleteTx(ctx, tx, key, token, retention); err != nil {
			return err
		}
		a := argsOf(e)
		res, err := b.client.InsertTx(ctx, tx, a, b.insertOpts(a))
		if err != nil {
			return fmt.Errorf("riverinbox: put: %w", err)
		}
		added = !res.UniqueSkippedAsDuplicate
		return nil
	})
	switch {
	case errors.Is(err, pgstore.ErrOtherDatabase):
		return false, false, nil
	case err != nil:
		return false, true, err
	}
	return added, true, nil
}

// stateOf maps a River job state onto the inbox's.
func stateOf(s rivertype.JobState) inbox.State {
	switch s {
	case rivertype.JobStateRunning:
		return inbox.Running
	case rivertype.JobStateCompleted:
		return inbox.Done
	case rivertype.JobStateDiscarded, rivertype.JobStateCancelled:
		return inbox.Dead
	}
	return inbox.Pending // available, scheduled, retryable, pending
}

// statesOf maps an inbox state onto River's: every state for 0, none for
// a state that is not one.
func statesOf(s inbox.State) []rivertype.JobState {
	switch s {
	case 0:
		return everyState
	case inbox.Pending:
		return []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateScheduled,
			rivertype.JobStateRetryable, rivertype.JobStatePending}
	case inbox.Running:
		return []rivertype.JobState{rivertype.JobStateRunning}
	case inbox.Done:
		return []rivertype.JobState{rivertype.JobStateCompleted}
	case inbox.Dead:
		return []rivertype.JobState{rivertype.JobStateDiscarded, rivertype.JobStateCancelled}
	}
	return nil
}

// infoOf returns the entry a job holds, as the operator sees it.
func infoOf(j *rivertype.JobRow) (inbox.Info, error) {
	var a args
	if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
		return inbox.Info{}, fmt.Errorf("riverinbox: job %d: %w", j.ID, err)
	}
	info := inbox.Info{Entry: a.entry(j.MaxAttempts), State: stateOf(j.State), Attempts: j.Attempt, UpdatedAt: j.CreatedAt}
	later := func(t *time.Time) {
		if t != nil && t.After(info.UpdatedAt) {
			info.UpdatedAt = *t
		}
	}
	later(j.AttemptedAt)
	later(j.FinalizedAt)
	for _, e := range j.Errors {
		info.Errors = append(info.Errors, inbox.AttemptError{Attempt: e.Attempt, At: e.At, Error: e.Error})
		later(&e.At)
	}
	if info.State == inbox.Pending {
		info.NextAt = j.ScheduledAt
	}
	return info, nil
}

// list returns the jobs of the inbox's queue that p further selects, up to
// limit, oldest first.
func (b *Backend) list(ctx context.Context, p *river.JobListParams, limit int) ([]*rivertype.JobRow, error) {
	p = p.Kinds(Kind).Queues(b.queue).OrderBy(river.JobListOrderByID, river.SortOrderAsc)
	var jobs []*rivertype.JobRow
	for len(jobs) < limit {
		res, err := b.client.JobList(ctx, p.First(min(limit-len(jobs), 10_000)))
		if err != nil {
			return jobs, err
		}
		jobs = append(jobs, res.Jobs...)
		if len(res.Jobs) == 0 || res.LastCursor == nil {
			break
		}
		p = p.After(res.LastCursor)
	}
	return jobs, nil
}

// argsContain is a JobList filter on the args: River's GIN index on args
// serves it.
func argsContain(field, value string) (string, river.NamedArgs) {
	frag, _ := json.Marshal(map[string]string{field: value})
	return `args @> @` + field + `::jsonb`, river.NamedArgs{field: string(frag)}
}

// find returns the job of entry id.
func (b *Backend) find(ctx context.Context, id string) (*rivertype.JobRow, error) {
	jobs, err := b.list(ctx, river.NewJobListParams().Where(argsContain("id", id)), 1)
	switch {
	case err != nil:
		return nil, err
	case len(jobs) == 0:
		return nil, inbox.ErrNotFound
	}
	return jobs[0], nil
}

// Get implements [inbox.Backend].
func (b *Backend) Get(ctx context.Context, id string) (inbox.Info, error) {
	j, err := b.find(ctx, id)
	if err != nil {
		return inbox.Info{}, wrap("get", err)
	}
	return infoOf(j)
}

// List implements [inbox.Backend].
func (b *Backend) List(ctx context.Context, f inbox.Filter) ([]inbox.Info, error) {
	states := statesOf(f.State)
	if len(states) == 0 {
		return []inbox.Info{}, nil
	}
	p := river.NewJobListParams().States(states...)
	if f.Provider != "" {
		p = p.Where(argsContain("provider", f.Provider))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = inbox.DefaultListLimit
	}
	jobs, err := b.list(ctx, p, limit)
	if err != nil {
		return nil, wrap("list", err)
	}
	out := make([]inbox.Info, 0, len(jobs))
	for _, j := range jobs {
		info, err := infoOf(j)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// Stats implements [inbox.Backend].
func (b *Backend) Stats(ctx context.Context) ([]inbox.Stat, error) {
	rows, err := b.pool.Query(ctx, b.statsSQL, Kind, b.queue)
	if err != nil {
		return nil, wrap("stats", err)
	}
	counts := make(map[inbox.Stat]int)
	var keys []inbox.Stat
	for rows.Next() {
		var (
			provider *string
			state    string
			n        int
		)
		if err := rows.Scan(&provider, &state, &n); err != nil {
			return nil, wrap("stats", err)
		}
		s := inbox.Stat{State: stateOf(rivertype.JobState(state))}
		if provider != nil {
			s.Provider = *provider
		}
		if _, ok := counts[s]; !ok {
			keys = append(keys, s)
		}
		counts[s] += n
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("stats", err)
	}
	out := make([]inbox.Stat, 0, len(keys))
	for _, s := range keys {
		s.N = counts[s]
		out = append(out, s)
	}
	return out, nil
}

// Replay implements [inbox.Backend]: River's JobRetry, in a transaction
// that also grants the entry its attempts again.
func (b *Backend) Replay(ctx context.Context, id string) error {
	err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		j, err := b.find(ctx, id)
		if err != nil {
			return err
		}
		if s := stateOf(j.State); s != inbox.Dead && s != inbox.Done {
			return inbox.ErrState
		}
		var a args
		if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
			return err
		}
		j, err = b.client.JobRetryTx(ctx, tx, j.ID)
		switch {
		case err != nil:
			return err
		case j.State != rivertype.JobStateAvailable:
			return inbox.ErrState // taken by a worker: replayed by someone else meanwhile
		}
		_, err = tx.Exec(ctx, `UPDATE `+b.jobTable+` SET max_attempts = attempt + $2 WHERE id = $1`, j.ID, max(a.MaxAttempts, 1))
		return err
	})
	return wrap("replay", err)
}

// Discard implements [inbox.Backend]: River's JobDelete.
func (b *Backend) Discard(ctx context.Context, id string) error {
	j, err := b.find(ctx, id)
	if err == nil {
		_, err = b.client.JobDelete(ctx, j.ID)
	}
	return wrap("discard", err)
}

// wrap maps River's errors onto the inbox's and names the operation.
func wrap(op string, err error) error {
	switch {
	case err == nil, errors.Is(err, inbox.ErrNotFound), errors.Is(err, inbox.ErrState):
		return err
	case errors.Is(err, rivertype.ErrNotFound):
		return inbox.ErrNotFound
	case errors.Is(err, rivertype.ErrJobRunning):
		return inbox.ErrState
	}
	return fmt.Errorf("riverinbox: %s: %w", op, err)
}
