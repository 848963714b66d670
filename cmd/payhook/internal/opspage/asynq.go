package opspage

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/payhook/payhook/inbox"
)

// asynqLister reads an asynq queue through asynq's Inspector, as
// asynqinbox keeps it: one task per entry, the task's ID the entry's, its
// payload the entry with the time it was put. The waiting, running and
// dead tasks are few and read whole; of the completed ones, which are
// most, it reads the latest completed pages only.
type asynqLister struct {
	insp  *asynq.Inspector
	queue string
}

// Asynq returns the Lister of an asynqinbox.Backend on client whose queue
// is queue (asynqinbox.DefaultQueue unless the backend was given another).
// Its counts are asynq's own (GetQueueInfo), and it finds the newest
// entries without reading every completed task, which the inbox's List
// does. Dead entries whose task asynq trimmed from its archive, which
// asynqinbox still lists, are not counted or listed here.
func Asynq(client redis.UniversalClient, queue string) (Lister, error) {
	if client == nil || queue == "" {
		return nil, errors.New("opspage: Asynq: want a client and a queue")
	}
	return &asynqLister{insp: asynq.NewInspectorFromRedisClient(client), queue: queue}, nil
}

// asynqPage is how many tasks one read of the Inspector returns.
const asynqPage = 500

// asynqWindow is the most completed tasks a search reads: asynq keeps no
// index of a task's payload, so a search reads each task's (about 20 µs
// a task with 100,000 of them), and 1,000 answer in about 20 ms.
const asynqWindow = 1000

// asynqTask is a task of the queue: the entry it holds, and when it was
// put.
type asynqTask struct {
	inbox.Entry
	PutAt int64 `json:"put_at"` // Unix nanoseconds
}

func (t asynqTask) cursor() string { return strconv.FormatInt(t.PutAt, 10) + ":" + t.ID }

// before reports whether t comes after the cursor c ("" is the top),
// newest first.
func (t asynqTask) before(c asynqTask) bool {
	return c.ID == "" || cmp.Or(cmp.Compare(t.PutAt, c.PutAt), strings.Compare(t.ID, c.ID)) < 0
}

func (l *asynqLister) info() (*asynq.QueueInfo, error) {
	qi, err := l.insp.GetQueueInfo(l.queue)
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return &asynq.QueueInfo{}, nil // nothing was ever put
	}
	return qi, err
}

func (l *asynqLister) Count(ctx context.Context, state inbox.State, most int) (int, error) {
	qi, err := l.info()
	if err != nil {
		return 0, fmt.Errorf("opspage: count: %w", err)
	}
	var n int
	switch state {
	case inbox.Pending:
		n = qi.Pending + qi.Scheduled + qi.Retry + qi.Active
	case inbox.Dead:
		n = qi.Archived
	case inbox.Done:
		n = qi.Completed
	default:
		n = qi.Size + qi.Completed
	}
	return min(n, most), nil
}

func (l *asynqLister) Latest(ctx context.Context, q Query, cursor string, limit int) ([]Found, error) {
	var after asynqTask
	if cursor != "" {
		at, id, ok := strings.Cut(cursor, ":")
		n, err := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil {
			return nil, ErrCursor
		}
		after = asynqTask{PutAt: n, Entry: inbox.Entry{ID: id}}
	}
	keep := func(t asynqTask) bool {
		return t.before(after) && (q.Provider == "" || t.Provider == q.Provider) &&
			(q.Search == "" || t.Key == q.Search || containsFold(t.Key, q.Search) || containsFold(string(t.Event), q.Search))
	}
	var tasks []asynqTask
	type lister func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error)
	var few []lister
	if q.State == 0 || q.State == inbox.Pending {
		few = append(few, l.insp.ListPendingTasks, l.insp.ListScheduledTasks, l.insp.ListRetryTasks, l.insp.ListActiveTasks)
	}
	if q.State == 0 || q.State == inbox.Dead {
		few = append(few, l.insp.ListArchivedTasks)
	}
	for _, list := range few {
		for page := 1; ; page++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			infos, err := list(l.queue, asynq.PageSize(asynqPage), asynq.Page(page))
			if errors.Is(err, asynq.ErrQueueNotFound) {
				return nil, nil
			}
			if err != nil {
				return nil, fmt.Errorf("opspage: list: %w", err)
			}
			if tasks, err = appendTasks(tasks, infos, keep); err != nil {
				return nil, err
			}
			if len(infos) < asynqPage {
				break
			}
		}
	}
	window := 0 // the completed tasks a search reads at most; 0: all
	if q.Search != "" && q.Window > 0 {
		window = min(q.Window, asynqWindow)
	}
	read, beyond := 0, false
	if q.State == 0 || q.State == inbox.Done {
		var err error
		if tasks, read, beyond, err = l.completed(ctx, tasks, keep, limit, window); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(tasks, func(a, b asynqTask) int {
		return cmp.Or(cmp.Compare(b.PutAt, a.PutAt), strings.Compare(b.ID, a.ID))
	})
	out := make([]Found, 0, min(len(tasks), limit))
	for _, t := range tasks[:min(len(tasks), limit)] {
		out = append(out, Found{ID: t.ID, Cursor: t.cursor()})
	}
	if beyond && len(out) < limit {
		// asynq keeps no index of keys or references, and orders its
		// completed tasks by when they expire: a search cannot go on
		// from a place among them.
		out = append(out, windowEnd("", read))
	}
	return out, nil
}

// completed appends the completed tasks that keep accepts, reading the
// latest completed pages first, until it has limit of them and a page
// more (an entry completed late, a replay, may have been put before the
// others of its page), or has read window tasks (0: no bound). It returns
// how many it read, and whether it stopped at the window with more
// completed tasks beyond it.
func (l *asynqLister) completed(ctx context.Context, tasks []asynqTask, keep func(asynqTask) bool, limit, window int) (_ []asynqTask, read int, beyond bool, _ error) {
	qi, err := l.info()
	if err != nil {
		return nil, 0, false, fmt.Errorf("opspage: list: %w", err)
	}
	size := min(max(2*limit, 100), asynqPage)
	if window > 0 {
		size = min(size, window)
	}
	found, extra := 0, false
	for page := (qi.Completed + size - 1) / size; page >= 1; page-- {
		if window > 0 && read >= window {
			return tasks, read, true, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, 0, false, err
		}
		infos, err := l.insp.ListCompletedTasks(l.queue, asynq.PageSize(size), asynq.Page(page))
		if err != nil {
			return nil, 0, false, fmt.Errorf("opspage: list: %w", err)
		}
		read += len(infos)
		n := len(tasks)
		if tasks, err = appendTasks(tasks, infos, keep); err != nil {
			return nil, 0, false, err
		}
		found += len(tasks) - n
		if found >= limit {
			if extra {
				break
			}
			extra = true
		}
	}
	return tasks, read, false, nil
}

// appendTasks decodes infos' payloads, and appends those keep accepts.
func appendTasks(tasks []asynqTask, infos []*asynq.TaskInfo, keep func(asynqTask) bool) ([]asynqTask, error) {
	for _, info := range infos {
		var t asynqTask
		if err := json.Unmarshal(info.Payload, &t); err != nil {
			return nil, fmt.Errorf("opspage: list: task %s: %w", info.ID, err)
		}
		if keep(t) {
			tasks = append(tasks, t)
		}
	}
	return tasks, nil
}

// containsFold reports whether s holds sub, ignoring case.
func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
