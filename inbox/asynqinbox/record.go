package asynqinbox

import (
	"context"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/payhook/payhook/inbox"
)

// The keys this package keeps beside asynq's, for the queue's entries.
// They share the queue's hash tag, so a Redis Cluster keeps them in one
// slot and the scripts below may touch several.
//
//	payhook:inbox:{queue}:r:<id>  hash: n (attempts started), run (the
//	                              attempt running), at (when it started),
//	                              max (MaxAttempts after a Replay),
//	                              dead and died (a dead entry's copy)
//	payhook:inbox:{queue}:e:<id>  list: the errors of the last attempts
//	payhook:inbox:{queue}:dead    sorted set: the dead entries' IDs
//	payhook:inbox:{queue}:unconf  set: the IDs of the entries with Claim
//	                              that are not done
//
// A done entry's keys expire with its task (a little after); the others'
// are deleted by Discard.
func (b *Backend) recKey(id string) string  { return b.keys + "r:" + id }
func (b *Backend) errsKey(id string) string { return b.keys + "e:" + id }
func (b *Backend) deadKey() string          { return b.keys + "dead" }
func (b *Backend) unconfirmedKey() string   { return b.keys + "unconf" }

// abandoned is the error of an attempt whose worker stopped without an
// answer: killed, or cut off from Redis past its lease.
const abandoned = "inbox: attempt abandoned: its worker stopped without an answer (asynq took the entry back after its lease)"

// startScript begins an attempt: it records the error of an attempt that
// was running and never ended, counts the new one, and answers its
// number, the raised MaxAttempts ("" if none) and the abandoned attempt's
// number ("" if none).
var startScript = redis.NewScript(`
local prev = redis.call('HGET', KEYS[1], 'run')
if prev then
	redis.call('RPUSH', KEYS[2], cjson.encode({attempt = tonumber(prev), at = ARGV[1], error = ARGV[2]}))
	redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSET', KEYS[1], 'run', n, 'at', ARGV[1])
redis.call('PERSIST', KEYS[1])
redis.call('PERSIST', KEYS[2])
return {n, redis.call('HGET', KEYS[1], 'max') or '', prev or ''}
`)

// The outcomes of an attempt, for endScript.
const (
	endDone   = "done"   // succeeded: the keys expire with the task
	endRetry  = "retry"  // failed: its error is kept
	endDead   = "dead"   // failed, and was the last: its error and a copy are kept
	endCancel = "cancel" // canceled by shutdown: it does not count
	endLast   = "last"   // not run: the attempt before was the last, and abandoned
	endDrop   = "drop"   // dropped: everything kept of it is deleted
)

// endScript ends attempt ARGV[1] with outcome ARGV[2], unless another
// attempt has begun since (this one was abandoned and taken again): then
// it changes nothing and answers 0.
var endScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'run') ~= ARGV[1] then
	return 0
end
local outcome = ARGV[2]
if outcome == 'drop' then
	redis.call('DEL', KEYS[1], KEYS[2])
	redis.call('ZREM', KEYS[3], ARGV[7])
	redis.call('SREM', KEYS[4], ARGV[7])
	return 1
end
if outcome == 'done' then
	redis.call('SREM', KEYS[4], ARGV[7])
end
redis.call('HDEL', KEYS[1], 'run')
if outcome == 'cancel' or outcome == 'last' then
	redis.call('HINCRBY', KEYS[1], 'n', -1)
end
if outcome == 'done' then
	redis.call('PEXPIRE', KEYS[1], ARGV[5])
	redis.call('PEXPIRE', KEYS[2], ARGV[5])
elseif outcome == 'retry' or outcome == 'dead' then
	redis.call('RPUSH', KEYS[2], ARGV[3])
	redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)
end
if outcome == 'dead' or outcome == 'last' then
	redis.call('HSET', KEYS[1], 'dead', ARGV[6], 'died', ARGV[8])
	redis.call('ZADD', KEYS[3], ARGV[9], ARGV[7])
end
return 1
`)

// replayScript grants an entry budget attempts more than it has had, and
// keeps its keys until it ends again. It answers the new MaxAttempts.
var replayScript = redis.NewScript(`
local max = tonumber(redis.call('HGET', KEYS[1], 'n') or '0') + tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'max', max)
redis.call('PERSIST', KEYS[1])
redis.call('PERSIST', KEYS[2])
return max
`)

// record is what this package keeps of an entry.
type record struct {
	n, run, max int
	at          time.Time
	dead        []byte // the dead entry's task payload
	died        time.Time
	errors      []inbox.AttemptError
}

// records reads the records of ids in one round trip.
func (b *Backend) records(ctx context.Context, ids ...string) ([]record, error) {
	pipe := b.redis.Pipeline()
	hashes := make([]*redis.MapStringStringCmd, len(ids))
	lists := make([]*redis.StringSliceCmd, len(ids))
	for i, id := range ids {
		hashes[i] = pipe.HGetAll(ctx, b.recKey(id))
		lists[i] = pipe.LRange(ctx, b.errsKey(id), 0, -1)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	recs := make([]record, len(ids))
	for i := range ids {
		h := hashes[i].Val()
		r := &recs[i]
		r.n, _ = strconv.Atoi(h["n"])
		r.run, _ = strconv.Atoi(h["run"])
		r.max, _ = strconv.Atoi(h["max"])
		r.at, _ = time.Parse(time.RFC3339Nano, h["at"])
		r.died, _ = time.Parse(time.RFC3339Nano, h["died"])
		if d, ok := h["dead"]; ok {
			r.dead = []byte(d)
		}
		for _, s := range lists[i].Val() {
			var e inbox.AttemptError
			if json.Unmarshal([]byte(s), &e) == nil {
				r.errors = append(r.errors, e)
			}
		}
	}
	return recs, nil
}

// clearDead forgets the copy of a dead entry that is dead no more.
func (b *Backend) clearDead(ctx context.Context, id string) error {
	_, err := b.redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, b.recKey(id), "dead", "died")
		p.ZRem(ctx, b.deadKey(), id)
		return nil
	})
	return err
}

// forget deletes everything this package keeps of an entry.
func (b *Backend) forget(ctx context.Context, id string) error {
	_, err := b.redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, b.recKey(id), b.errsKey(id))
		p.ZRem(ctx, b.deadKey(), id)
		p.SRem(ctx, b.unconfirmedKey(), id)
		return nil
	})
	return err
}

// attemptErrorJSON is the kept form of an attempt's error, its text cut to
// errorBytes on a rune boundary.
func attemptErrorJSON(n int, at time.Time, err error) string {
	text := err.Error()
	if len(text) > errorBytes {
		cut := errorBytes
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + " [cut]"
	}
	b, _ := json.Marshal(inbox.AttemptError{Attempt: n, At: at, Error: text})
	return string(b)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
