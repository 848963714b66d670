package asynqinbox

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hibiken/asynq"

	"github.com/payhook/payhook/inbox"
)

// stateOf maps asynq's task states to the inbox's.
func stateOf(s asynq.TaskState) inbox.State {
	switch s {
	case asynq.TaskStateActive:
		return inbox.Running
	case asynq.TaskStateCompleted:
		return inbox.Done
	case asynq.TaskStateArchived:
		return inbox.Dead
	}
	return inbox.Pending // pending, scheduled, retry (and aggregating, never used)
}

// notFound reports whether an Inspector error says the task, or its whole
// queue, is not there.
func notFound(err error) bool {
	return errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound)
}

// item is one entry found by the Inspector, or only in this package's
// copies of dead entries.
type item struct {
	env  envelope
	task *asynq.TaskInfo // nil for a dead entry whose task asynq trimmed
}

// info builds what the operator sees of an entry.
func (it item) info(r record) inbox.Info {
	info := inbox.Info{Entry: it.env.Entry, Attempts: r.n, Errors: r.errors}
	if r.max > 0 {
		info.MaxAttempts = r.max
	}
	t := it.task
	if t == nil {
		info.State, info.UpdatedAt = inbox.Dead, r.died
		return info
	}
	info.State = stateOf(t.State)
	if r.run > 0 && info.State != inbox.Running {
		// Its worker died; asynq took the entry back, and the next
		// attempt will record this.
		info.Errors = append(info.Errors, inbox.AttemptError{Attempt: r.run, At: t.LastFailedAt, Error: abandoned})
	} else if len(info.Errors) == 0 && t.LastErr != "" {
		// This package could not record the error; asynq did.
		info.Errors = []inbox.AttemptError{{Attempt: r.n, At: t.LastFailedAt, Error: t.LastErr}}
	}
	switch info.State {
	case inbox.Pending:
		info.NextAt = t.NextProcessAt
		info.UpdatedAt = latest(time.Unix(0, it.env.PutAt), t.LastFailedAt)
	case inbox.Running:
		info.UpdatedAt = r.at
	case inbox.Done:
		info.UpdatedAt = t.CompletedAt
	case inbox.Dead:
		info.UpdatedAt = latest(t.LastFailedAt, r.died)
	}
	info.UpdatedAt = info.UpdatedAt.UTC()
	return info
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// lookup finds the entry id: its task or, when asynq trimmed a dead
// task, this package's copy.
func (b *Backend) lookup(ctx context.Context, id string) (item, record, error) {
	if err := ctx.Err(); err != nil {
		return item{}, record{}, err
	}
	t, err := b.inspector.GetTaskInfo(b.queue, id)
	if err != nil && !notFound(err) {
		return item{}, record{}, err
	}
	recs, rerr := b.records(ctx, id)
	if rerr != nil {
		return item{}, record{}, rerr
	}
	r := recs[0]
	if err != nil { // not found
		if r.dead == nil {
			return item{}, r, inbox.ErrNotFound
		}
		env, derr := decode(r.dead)
		return item{env: env}, r, derr
	}
	env, err := decode(t.Payload)
	return item{env: env, task: t}, r, err
}

// Get implements [inbox.Backend].
func (b *Backend) Get(ctx context.Context, id string) (inbox.Info, error) {
	it, r, err := b.lookup(ctx, id)
	if err != nil {
		return inbox.Info{}, wrap("get", err)
	}
	return it.info(r), nil
}

// pageSize is how many tasks each Inspector call lists.
const pageSize = 500

// scan lists the entries in state (every state when 0), in no order. It
// reads every task of those states: List and Stats cost time in
// proportion to the entries kept, done ones included.
func (b *Backend) scan(ctx context.Context, state inbox.State) ([]item, error) {
	type lister func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error)
	i := b.inspector
	var listers []lister
	if state == 0 || state == inbox.Pending {
		listers = append(listers, i.ListPendingTasks, i.ListScheduledTasks, i.ListRetryTasks)
	}
	if state == 0 || state == inbox.Running {
		listers = append(listers, i.ListActiveTasks)
	}
	if state == 0 || state == inbox.Done {
		listers = append(listers, i.ListCompletedTasks)
	}
	if state == 0 || state == inbox.Dead {
		listers = append(listers, i.ListArchivedTasks)
	}
	var items []item
	seen := make(map[string]bool)
	for _, list := range listers {
		for page := 1; ; page++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			tasks, err := list(b.queue, asynq.PageSize(pageSize), asynq.Page(page))
			if errors.Is(err, asynq.ErrQueueNotFound) {
				return nil, nil // nothing was ever put
			}
			if err != nil {
				return nil, err
			}
			for _, t := range tasks {
				if seen[t.ID] { // moved between two pages or two states
					continue
				}
				seen[t.ID] = true
				env, err := decode(t.Payload)
				if err != nil {
					return nil, err
				}
				items = append(items, item{env: env, task: t})
			}
			if len(tasks) < pageSize {
				break
			}
		}
	}
	if state == 0 || state == inbox.Dead {
		trimmed, err := b.trimmed(ctx, seen)
		if err != nil {
			return nil, err
		}
		items = append(items, trimmed...)
	}
	return items, nil
}

// trimmed returns the dead entries whose task asynq trimmed from its
// archive, from this package's copies: the dead IDs not seen among the
// tasks, and not there in another state either.
func (b *Backend) trimmed(ctx context.Context, seen map[string]bool) ([]item, error) {
	ids, err := b.redis.ZRange(ctx, b.deadKey(), 0, -1).Result()
	if err != nil {
		return nil, err
	}
	var items []item
	for _, id := range ids {
		if seen[id] {
			continue
		}
		it, _, err := b.lookup(ctx, id)
		switch {
		case errors.Is(err, inbox.ErrNotFound):
			// Replayed and done, or discarded, meanwhile, and the
			// index not cleared: clear it.
			if err := b.redis.ZRem(ctx, b.deadKey(), id).Err(); err != nil {
				return nil, err
			}
		case err != nil:
			return nil, err
		case it.task == nil:
			items = append(items, it)
		}
	}
	return items, nil
}

// List implements [inbox.Backend]. Entries are ordered by when they were
// put, by the clock of the process that put them.
func (b *Backend) List(ctx context.Context, f inbox.Filter) ([]inbox.Info, error) {
	items, err := b.scan(ctx, f.State)
	if err != nil {
		return nil, wrap("list", err)
	}
	items = slices.DeleteFunc(items, func(it item) bool {
		return f.Provider != "" && it.env.Provider != f.Provider
	})
	slices.SortFunc(items, func(x, y item) int {
		return cmp.Or(cmp.Compare(x.env.PutAt, y.env.PutAt), cmp.Compare(x.env.ID, y.env.ID))
	})
	if f.Limit > 0 && len(items) > f.Limit {
		items = items[:f.Limit]
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.env.ID
	}
	recs, err := b.records(ctx, ids...)
	if err != nil {
		return nil, wrap("list", err)
	}
	out := make([]inbox.Info, len(items))
	for i, it := range items {
		out[i] = it.info(recs[i])
	}
	return out, nil
}

// Stats implements [inbox.Backend]; it reads every entry, as List does.
func (b *Backend) Stats(ctx context.Context) ([]inbox.Stat, error) {
	items, err := b.scan(ctx, 0)
	if err != nil {
		return nil, wrap("stats", err)
	}
	counts := make(map[inbox.Stat]int)
	for _, it := range items {
		state := inbox.Dead
		if it.task != nil {
			state = stateOf(it.task.State)
		}
		counts[inbox.Stat{Provider: it.env.Provider, State: state}]++
	}
	out := make([]inbox.Stat, 0, len(counts))
	for s, n := range counts {
		s.N = n
		out = append(out, s)
	}
	slices.SortFunc(out, func(x, y inbox.Stat) int {
		return cmp.Or(cmp.Compare(x.Provider, y.Provider), cmp.Compare(x.State, y.State))
	})
	return out, nil
}

// Replay implements [inbox.Backend] with asynq's RunTask, which takes an
// archived or a completed task back to pending; a dead entry whose task
// asynq trimmed is put again from its copy.
func (b *Backend) Replay(ctx context.Context, id string) error {
	it, r, err := b.lookup(ctx, id)
	if err != nil {
		return wrap("replay", err)
	}
	if it.task != nil && it.task.State != asynq.TaskStateArchived && it.task.State != asynq.TaskStateCompleted {
		return wrap("replay", inbox.ErrState)
	}
	// Raise MaxAttempts first: the attempt may start as soon as the task
	// is pending.
	budget := max(it.env.MaxAttempts, 1)
	if err := replayScript.Run(ctx, b.redis, []string{b.recKey(id), b.errsKey(id)}, budget).Err(); err != nil {
		return wrap("replay", err)
	}
	if it.task != nil {
		err = b.inspector.RunTask(b.queue, id)
	} else {
		_, err = b.client.EnqueueContext(ctx, asynq.NewTask(it.env.Provider, r.dead),
			asynq.TaskID(id), asynq.Queue(b.queue), asynq.MaxRetry(maxRetry),
			asynq.Timeout(taskTimeout), asynq.Retention(b.retention))
	}
	if err != nil {
		if again, _, lerr := b.lookup(ctx, id); lerr == nil && again.task != nil && stateOf(again.task.State) != inbox.Dead && stateOf(again.task.State) != inbox.Done {
			return wrap("replay", inbox.ErrState) // replayed by someone else meanwhile
		}
		return wrap("replay", err)
	}
	if it.env.Claim && it.task != nil && it.task.State == asynq.TaskStateCompleted {
		// Done no more: counted again among the unconfirmed.
		if err := b.redis.SAdd(ctx, b.unconfirmedKey(), id).Err(); err != nil {
			return wrap("replay", err)
		}
	}
	return wrap("replay", b.clearDead(ctx, id))
}

// Discard implements [inbox.Backend] with asynq's DeleteTask, and deletes
// what this package keeps of the entry.
func (b *Backend) Discard(ctx context.Context, id string) error {
	it, _, err := b.lookup(ctx, id)
	if err != nil {
		return wrap("discard", err)
	}
	if it.task != nil {
		if it.task.State == asynq.TaskStateActive {
			return wrap("discard", inbox.ErrState)
		}
		if err := b.inspector.DeleteTask(b.queue, id); err != nil && !notFound(err) {
			if again, _, lerr := b.lookup(ctx, id); lerr == nil && again.task != nil && again.task.State == asynq.TaskStateActive {
				return wrap("discard", inbox.ErrState) // taken by a worker meanwhile
			}
			return wrap("discard", err)
		}
	}
	return wrap("discard", b.forget(ctx, id))
}

// wrap prefixes err with the package and the operation, keeping the
// inbox's sentinels reachable with errors.Is.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("asynqinbox: %s: %w", op, err)
}
