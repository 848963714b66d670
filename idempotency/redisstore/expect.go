package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/internal/expectstore"
)

// DefaultExpectationsPrefix is the prefix of the Redis keys of
// [Expectations] unless [WithExpectationsPrefix] says otherwise. Its
// braces make it a hash tag: on a Redis Cluster every key of the store is
// in one slot, as its scripts need.
const DefaultExpectationsPrefix = "payhook:{expect}:"

// Expectations is an [expect.Store] in Redis, so that every replica of an
// application shares the expected payments: each is settled once, by one
// payment, and polled by one replica at a time. Make one with
// [NewExpectations]; the zero value is not usable. It is safe for
// concurrent use by many goroutines and many processes sharing one Redis.
//
// Every method is one Lua script, run with EVALSHA: one round trip,
// atomic on the server, so that of replicas calling Settle or Due at
// once, one wins each expectation. Under the prefix ([WithExpectationsPrefix]):
//
//	x:<n>             a hash per expectation, n its order of Add (zero-padded)
//	id, ref           hashes from each provider's ID, and Ref, to n
//	pay               a hash from each provider's settling payment id to n
//	due, due:<p>      sorted sets of the pending expectations with an ID, by next poll
//	                  (every provider's, and provider p's): Due reads and moves them
//	dl, dl:p:<p>, dl:s:<state>, dl:ps:<state>:<p>
//	                  sorted sets by deadline: List reads the one its filter names,
//	                  MarkOverdue the pending ones
//	uc, uc:<p>        sorted sets of the settled expectations not confirmed, by
//	                  settlement (every provider's, and p's): Unconfirmed reads them
//	seq               the counter of n
//
// so that no call reads more than it returns, whatever the number of
// expectations. Times are kept in Unix microseconds. No key expires by
// itself (a TTL would break the indexes): an expectation stays until
// Forget deletes it, as payhook.Reconciler does past its retention. As for the
// idempotency store, run Redis with AOF (appendonly yes) for the
// expectations to survive a Redis restart, and keep maxmemory-policy at
// noeviction.
type Expectations struct {
	cfg    expectstore.Config // Now, and what the options refused
	client redis.Scripter
	prefix string
}

var _ expect.Store = (*Expectations)(nil)

// ExpectationsOption configures [NewExpectations]. An option given a value
// it cannot use makes NewExpectations fail with an error wrapping
// payhook.ErrConfig.
type ExpectationsOption func(*Expectations)

// WithExpectationsPrefix sets the prefix of the store's Redis keys.
// On a Redis Cluster it must hold a hash tag ("{...}"), so that every key
// is in one slot. Default: DefaultExpectationsPrefix.
func WithExpectationsPrefix(prefix string) ExpectationsOption {
	return func(e *Expectations) { e.prefix = prefix }
}

// WithExpectationsClock sets the clock that stamps CreatedAt when Add is
// given none; every other time is the caller's. It must not be nil.
// Default: time.Now.
func WithExpectationsClock(now func() time.Time) ExpectationsOption {
	return func(e *Expectations) { e.cfg.SetClock(now) }
}

// NewExpectations returns an Expectations store in Redis through client,
// a *redis.Client, *redis.ClusterClient or *redis.Ring (anything that runs
// scripts). The caller owns client and closes it. NewExpectations fails
// with an error wrapping payhook.ErrConfig if client is nil or an option
// is given a value it cannot use.
func NewExpectations(client redis.Scripter, opts ...ExpectationsOption) (*Expectations, error) {
	if client == nil {
		return nil, fmt.Errorf("redisstore: %w: nil client", payhook.ErrConfig)
	}
	e := &Expectations{client: client, prefix: DefaultExpectationsPrefix, cfg: expectstore.Config{Now: time.Now}}
	expectstore.Apply(e, opts)
	if err := e.cfg.Refused.Err("redisstore", payhook.ErrConfig); err != nil {
		return nil, err
	}
	return e, nil
}

// luaCommon is the start of every script: ARGV[1] is the prefix.
const luaCommon = `
local P = ARGV[1]
-- f is the field of a provider's id, ref or payment id in the index hashes.
local function f(p, s) return string.len(p) .. ':' .. p .. s end
local function find(p, id, ref)
	if id ~= '' then return redis.call('HGET', P .. 'id', f(p, id)) end
	if ref ~= '' then return redis.call('HGET', P .. 'ref', f(p, ref)) end
	return false
end
local function load(n)
	local raw = redis.call('HGETALL', P .. 'x:' .. n)
	local h = {}
	for i = 1, #raw, 2 do h[raw[i]] = raw[i + 1] end
	return h, raw
end
-- lists puts n in, or takes it out of, the sorted sets of its state.
local function lists(n, h, st, put)
	if put then
		redis.call('ZADD', P .. 'dl:s:' .. st, h.dl, n)
		redis.call('ZADD', P .. 'dl:ps:' .. st .. ':' .. h.p, h.dl, n)
	else
		redis.call('ZREM', P .. 'dl:s:' .. st, n)
		redis.call('ZREM', P .. 'dl:ps:' .. st .. ':' .. h.p, n)
	end
end
-- due puts n in the sets of due expectations at next, or takes it out.
local function due(n, h, next)
	if next then
		redis.call('ZADD', P .. 'due', next, n)
		redis.call('ZADD', P .. 'due:' .. h.p, next, n)
	else
		redis.call('ZREM', P .. 'due', n)
		redis.call('ZREM', P .. 'due:' .. h.p, n)
	end
end
-- unconfirmed puts n in the sets of settled, unconfirmed expectations at
-- sa, or takes it out.
local function unconfirmed(n, h, sa)
	if sa then
		redis.call('ZADD', P .. 'uc', sa, n)
		redis.call('ZADD', P .. 'uc:' .. h.p, sa, n)
	else
		redis.call('ZREM', P .. 'uc', n)
		redis.call('ZREM', P .. 'uc:' .. h.p, n)
	end
end
-- move changes n's state to st, in its hash and its sets.
local function move(n, h, st)
	if h.st == '2' and st ~= '2' then unconfirmed(n, h, false) end
	if h.st ~= st then
		lists(n, h, h.st, false)
		lists(n, h, st, true)
		redis.call('HSET', P .. 'x:' .. n, 'st', st)
	end
	if st == '1' and h.id ~= '' then due(n, h, h.np) else due(n, h, false) end
end
-- take returns up to limit members of the sorted sets keys whose score is
-- at most max, the lowest first.
local function take(keys, max, limit)
	local c = {}
	for _, k in ipairs(keys) do
		local r = redis.call('ZRANGEBYSCORE', k, '-inf', max, 'WITHSCORES', 'LIMIT', 0, limit)
		for i = 1, #r, 2 do c[#c + 1] = {r[i], tonumber(r[i + 1])} end
	end
	table.sort(c, function(a, b) if a[2] ~= b[2] then return a[2] < b[2] end return a[1] < b[1] end)
	local out = {}
	for i = 1, math.min(limit, #c) do out[i] = c[i][1] end
	return out
end
`

// The answers of the scripts that find one expectation: the code, then
// the expectation's hash when it is 0.
const (
	codeOK = iota
	codeNotFound
	codeSettled
	codeConflict
	codeState
)

var codeErrs = [...]error{codeNotFound: expect.ErrNotFound, codeSettled: expect.ErrSettled,
	codeConflict: expect.ErrConflict, codeState: expect.ErrState}

// addScript: ARGV provider, id, ref, amount, currency, deadline, created,
// next poll. Answers 1 if it added, 0 if the id or ref is taken.
var addScript = redis.NewScript(luaCommon + `
local p, id, ref = ARGV[2], ARGV[3], ARGV[4]
if id ~= '' and redis.call('HEXISTS', P .. 'id', f(p, id)) == 1 then return 0 end
if ref ~= '' and redis.call('HEXISTS', P .. 'ref', f(p, ref)) == 1 then return 0 end
local n = string.format('%012d', redis.call('INCR', P .. 'seq'))
local h = {p = p, id = id, st = '1', dl = ARGV[7], np = ARGV[9]}
redis.call('HSET', P .. 'x:' .. n, 'p', p, 'id', id, 'ref', ref, 'amount', ARGV[5], 'cur', ARGV[6],
	'dl', ARGV[7], 'st', '1', 'ca', ARGV[8], 'pid', '', 'out', '', 'sa', '', 'np', ARGV[9], 'att', '0')
if id ~= '' then
	redis.call('HSET', P .. 'id', f(p, id), n)
	due(n, h, h.np)
end
if ref ~= '' then redis.call('HSET', P .. 'ref', f(p, ref), n) end
redis.call('ZADD', P .. 'dl', h.dl, n)
redis.call('ZADD', P .. 'dl:p:' .. p, h.dl, n)
lists(n, h, '1', true)
return 1
`)

// getScript: ARGV provider, id, ref.
var getScript = redis.NewScript(luaCommon + `
local n = find(ARGV[2], ARGV[3], ARGV[4])
if not n then return {1} end
local _, raw = load(n)
return {0, raw}
`)

// luaSettle settles the expectation of ARGV provider, id, ref with ARGV
// payment id, outcome, settled at, after check(), which may refuse with a
// code; it returns {code} or {0, hash}.
const luaSettle = `
local function settle(check)
	local p, pid = ARGV[2], ARGV[5]
	local n = find(p, ARGV[3], ARGV[4])
	if not n then return {1} end
	local h, raw = load(n)
	if h.st == '2' and h.pid == pid then
		local c = check()
		if c ~= 0 then return {c} end
		return {0, raw}
	end
	if h.st == '2' then return {2} end
	if h.st == '4' then return {4} end
	if h.id ~= '' and h.id ~= pid then return {3} end
	local other = redis.call('HGET', P .. 'pay', f(p, pid))
	if other and other ~= n then return {3} end
	local c = check()
	if c ~= 0 then return {c} end
	redis.call('HSET', P .. 'pay', f(p, pid), n)
	redis.call('HSET', P .. 'x:' .. n, 'pid', pid, 'out', ARGV[6], 'sa', ARGV[7])
	move(n, h, '2')
	unconfirmed(n, h, ARGV[7])
	local _, fresh = load(n)
	return {0, fresh}
end
`

var settleScript = redis.NewScript(luaCommon + luaSettle + `
return settle(function() return 0 end)
`)

// reopenScript: ARGV provider, id, ref, payment id, the zero next poll.
var reopenScript = redis.NewScript(luaCommon + `
local p, pid = ARGV[2], ARGV[5]
local n = find(p, ARGV[3], ARGV[4])
if not n then return {1} end
local h = load(n)
if h.st ~= '2' or h.pid ~= pid or pid == '' then return {4} end
redis.call('HDEL', P .. 'pay', f(p, pid))
redis.call('HSET', P .. 'x:' .. n, 'pid', '', 'out', '', 'sa', '', 'np', ARGV[6])
h.np = ARGV[6]
move(n, h, '1')
return {0}
`)

// cancelScript: ARGV provider, id, ref.
var cancelScript = redis.NewScript(luaCommon + `
local n = find(ARGV[2], ARGV[3], ARGV[4])
if not n then return {1} end
local h = load(n)
if h.st == '2' then return {4} end
move(n, h, '4')
return {0}
`)

// rescheduleScript: ARGV provider, id, ref, next poll.
var rescheduleScript = redis.NewScript(luaCommon + `
local n = find(ARGV[2], ARGV[3], ARGV[4])
if not n then return {1} end
local h = load(n)
if h.st ~= '1' then return {4} end
redis.call('HSET', P .. 'x:' .. n, 'np', ARGV[5])
h.np = ARGV[5]
move(n, h, '1')
return {0}
`)

// dueScript: ARGV now, the lease's end, limit, then the providers.
var dueScript = redis.NewScript(luaCommon + `
local keys = {}
for i = 5, #ARGV do keys[#keys + 1] = P .. 'due:' .. ARGV[i] end
if #keys == 0 then keys = {P .. 'due'} end
local out = {}
for _, n in ipairs(take(keys, ARGV[2], tonumber(ARGV[4]))) do
	local h = load(n)
	redis.call('HINCRBY', P .. 'x:' .. n, 'att', 1)
	redis.call('HSET', P .. 'x:' .. n, 'np', ARGV[3])
	due(n, h, ARGV[3])
	local _, raw = load(n)
	out[#out + 1] = raw
end
return out
`)

// overdueScript: ARGV now, limit, then the providers.
var overdueScript = redis.NewScript(luaCommon + `
local keys = {}
for i = 4, #ARGV do keys[#keys + 1] = P .. 'dl:ps:1:' .. ARGV[i] end
if #keys == 0 then keys = {P .. 'dl:s:1'} end
local out = {}
for _, n in ipairs(take(keys, ARGV[2], tonumber(ARGV[3]))) do
	local h = load(n)
	move(n, h, '3')
	local _, raw = load(n)
	out[#out + 1] = raw
end
return out
`)

// forgetScript: ARGV before, limit, then the providers. It deletes the
// settled expectations whose deadline and settlement are before before,
// then the cancelled ones whose deadline is, from the sorted sets of each
// state by deadline. A settled one whose settlement is not yet before
// before is skipped, not deleted: it is taken again, until it is.
var forgetScript = redis.NewScript(luaCommon + `
local before, limit, n = tonumber(ARGV[2]), tonumber(ARGV[3]), 0
for _, st in ipairs({'2', '4'}) do
	local keys = {}
	for i = 4, #ARGV do keys[#keys + 1] = P .. 'dl:ps:' .. st .. ':' .. ARGV[i] end
	if #keys == 0 then keys = {P .. 'dl:s:' .. st} end
	if n >= limit then break end
	for _, m in ipairs(take(keys, '(' .. ARGV[2], limit - n)) do
		local h = load(m)
		if st == '4' or (h.sa ~= '' and tonumber(h.sa) < before) then
			if h.id ~= '' then redis.call('HDEL', P .. 'id', f(h.p, h.id)) end
			if h.ref ~= '' then redis.call('HDEL', P .. 'ref', f(h.p, h.ref)) end
			if h.pid ~= '' and redis.call('HGET', P .. 'pay', f(h.p, h.pid)) == m then
				redis.call('HDEL', P .. 'pay', f(h.p, h.pid))
			end
			lists(m, h, h.st, false)
			due(m, h, false)
			unconfirmed(m, h, false)
			redis.call('ZREM', P .. 'dl', m)
			redis.call('ZREM', P .. 'dl:p:' .. h.p, m)
			redis.call('DEL', P .. 'x:' .. m)
			n = n + 1
		end
	end
end
return n
`)

// confirmScript: ARGV provider, id, ref, payment id.
var confirmScript = redis.NewScript(luaCommon + `
local pid = ARGV[5]
local n = find(ARGV[2], ARGV[3], ARGV[4])
if not n then return {1} end
local h = load(n)
if h.st ~= '2' or h.pid ~= pid or pid == '' then return {4} end
unconfirmed(n, h, false)
return {0}
`)

// unconfirmedScript: ARGV before, limit, then the providers.
var unconfirmedScript = redis.NewScript(luaCommon + `
local keys = {}
for i = 4, #ARGV do keys[#keys + 1] = P .. 'uc:' .. ARGV[i] end
if #keys == 0 then keys = {P .. 'uc'} end
local out = {}
for _, n in ipairs(take(keys, ARGV[2], tonumber(ARGV[3]))) do
	local _, raw = load(n)
	out[#out + 1] = raw
end
return out
`)

// listScript: ARGV the sorted set's name after the prefix, limit.
var listScript = redis.NewScript(luaCommon + `
local out = {}
for _, n in ipairs(redis.call('ZRANGE', P .. ARGV[2], 0, tonumber(ARGV[3]) - 1)) do
	local _, raw = load(n)
	out[#out + 1] = raw
end
return out
`)

// Add implements [expect.Store].
func (e *Expectations) Add(ctx context.Context, x expect.Expectation) error {
	if err := x.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: add expectation: %w", err)
	}
	if x.CreatedAt.IsZero() {
		x.CreatedAt = e.cfg.Now()
	}
	n, err := addScript.Run(ctx, e.client, e.route(), e.prefix, x.Provider, x.ID, x.Ref, x.Amount, x.Currency,
		micros(x.Deadline), micros(x.CreatedAt), micros(x.NextPoll)).Int()
	switch {
	case err != nil:
		return fmt.Errorf("redisstore: add expectation: %w", err)
	case n == 0:
		return expect.ErrExists
	}
	return nil
}

// route returns the KEYS of a script: one key under the prefix, which
// sends the script to the node that holds the prefix's slot on a Redis
// Cluster. The scripts reach every other key of the store from ARGV[1],
// the prefix, in that slot too when the prefix holds a hash tag.
func (e *Expectations) route() []string { return []string{e.prefix + "seq"} }

// keyArgs are the script arguments that find k: the prefix, provider, id
// and ref.
func (e *Expectations) keyArgs(k expect.Key, more ...any) []any {
	return append([]any{e.prefix, k.Provider, k.ID, k.Ref}, more...)
}

// one runs a script that finds one expectation and answers {code} or
// {0, hash}.
func (e *Expectations) one(ctx context.Context, op string, script *redis.Script, keys []string, args ...any) (expect.Expectation, error) {
	if err := ctx.Err(); err != nil {
		return expect.Expectation{}, fmt.Errorf("redisstore: %s expectation: %w", op, err)
	}
	v, err := script.Run(ctx, e.client, keys, args...).Slice()
	if err != nil {
		return expect.Expectation{}, fmt.Errorf("redisstore: %s expectation: %w", op, err)
	}
	code, ok := v[0].(int64)
	switch {
	case !ok || code < 0 || int(code) >= len(codeErrs):
		return expect.Expectation{}, fmt.Errorf("redisstore: %s expectation: unexpected answer %v", op, v[0])
	case code != codeOK:
		return expect.Expectation{}, codeErrs[code]
	case len(v) < 2:
		return expect.Expectation{}, nil
	}
	x, err := decode(v[1])
	if err != nil {
		return expect.Expectation{}, fmt.Errorf("redisstore: %s expectation: %w", op, err)
	}
	return x, nil
}

// Get implements [expect.Store].
func (e *Expectations) Get(ctx context.Context, k expect.Key) (expect.Expectation, error) {
	if k.ID == "" && k.Ref == "" {
		return expect.Expectation{}, expect.ErrNotFound
	}
	return e.one(ctx, "get", getScript, e.route(), e.keyArgs(k)...)
}

// Settle implements [expect.Store], in one script.
func (e *Expectations) Settle(ctx context.Context, k expect.Key, s expect.Settlement) (expect.Expectation, error) {
	if err := expect.ValidSettlement(s); err != nil {
		return expect.Expectation{}, err
	}
	if k.ID == "" && k.Ref == "" {
		return expect.Expectation{}, expect.ErrNotFound
	}
	return e.one(ctx, "settle", settleScript, e.route(), e.keyArgs(k, s.PaymentID, s.Outcome, micros(s.At))...)
}

// change runs a script that changes one expectation and answers {code}.
func (e *Expectations) change(ctx context.Context, op string, script *redis.Script, k expect.Key, more ...any) error {
	if k.ID == "" && k.Ref == "" {
		return expect.ErrNotFound
	}
	_, err := e.one(ctx, op, script, e.route(), e.keyArgs(k, more...)...)
	return err
}

// Reopen implements [expect.Store].
func (e *Expectations) Reopen(ctx context.Context, k expect.Key, paymentID string) error {
	return e.change(ctx, "reopen", reopenScript, k, paymentID, micros(time.Time{}))
}

// Confirm implements [expect.Store], in one script.
func (e *Expectations) Confirm(ctx context.Context, k expect.Key, paymentID string) error {
	return e.change(ctx, "confirm", confirmScript, k, paymentID)
}

// Unconfirmed implements [expect.Store], in one script that reads the
// sorted sets of the settled, unconfirmed expectations by settlement.
func (e *Expectations) Unconfirmed(ctx context.Context, providers []string, before time.Time, limit int) ([]expect.Expectation, error) {
	if limit <= 0 {
		return nil, ctx.Err()
	}
	args := []any{e.prefix, micros(before), limit}
	return e.many(ctx, "list unconfirmed expectations", unconfirmedScript, append(args, distinct(providers)...)...)
}

// Cancel implements [expect.Store].
func (e *Expectations) Cancel(ctx context.Context, k expect.Key) error {
	return e.change(ctx, "cancel", cancelScript, k)
}

// Reschedule implements [expect.Store].
func (e *Expectations) Reschedule(ctx context.Context, k expect.Key, next time.Time) error {
	return e.change(ctx, "reschedule", rescheduleScript, k, micros(next))
}

// Due implements [expect.Store], in one script.
func (e *Expectations) Due(ctx context.Context, providers []string, now time.Time, lease time.Duration, limit int) ([]expect.Expectation, error) {
	if limit <= 0 {
		return nil, ctx.Err()
	}
	args := []any{e.prefix, micros(now), micros(now.Add(lease)), limit}
	return e.many(ctx, "take due expectations", dueScript, append(args, distinct(providers)...)...)
}

// MarkOverdue implements [expect.Store], in one script.
func (e *Expectations) MarkOverdue(ctx context.Context, providers []string, now time.Time, limit int) ([]expect.Expectation, error) {
	if limit <= 0 {
		return nil, ctx.Err()
	}
	args := []any{e.prefix, micros(now), limit}
	return e.many(ctx, "mark expectations overdue", overdueScript, append(args, distinct(providers)...)...)
}

// Forget implements [expect.Store], in one script that reads the sorted
// sets of the settled and cancelled expectations by deadline.
func (e *Expectations) Forget(ctx context.Context, providers []string, before time.Time, limit int) (int, error) {
	if err := ctx.Err(); err != nil || limit <= 0 {
		return 0, err
	}
	args := append([]any{e.prefix, micros(before), limit}, distinct(providers)...)
	n, err := forgetScript.Run(ctx, e.client, e.route(), args...).Int()
	if err != nil {
		return 0, fmt.Errorf("redisstore: forget expectations: %w", err)
	}
	return n, nil
}

// List implements [expect.Store]: one range of the sorted set by deadline
// that f names.
func (e *Expectations) List(ctx context.Context, f expect.Filter) ([]expect.Expectation, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = expect.DefaultListLimit
	}
	set := "dl"
	st := strconv.Itoa(int(f.State))
	switch {
	case f.Provider != "" && f.State != 0:
		set = "dl:ps:" + st + ":" + f.Provider
	case f.Provider != "":
		set = "dl:p:" + f.Provider
	case f.State != 0:
		set = "dl:s:" + st
	}
	return e.many(ctx, "list expectations", listScript, e.prefix, set, limit)
}

// many runs a script that answers a list of expectations' hashes.
func (e *Expectations) many(ctx context.Context, op string, script *redis.Script, args ...any) ([]expect.Expectation, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	v, err := script.Run(ctx, e.client, e.route(), args...).Slice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	xs := make([]expect.Expectation, 0, len(v))
	for _, h := range v {
		x, err := decode(h)
		if err != nil {
			return nil, fmt.Errorf("redisstore: %s: %w", op, err)
		}
		xs = append(xs, x)
	}
	return xs, nil
}

// decode reads an expectation's hash, as HGETALL answers it.
func decode(v any) (expect.Expectation, error) {
	raw, ok := v.([]any)
	if !ok || len(raw)%2 != 0 {
		return expect.Expectation{}, fmt.Errorf("unexpected hash %T", v)
	}
	var (
		x    expect.Expectation
		errs []error
	)
	num := func(s string) int64 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			errs = append(errs, err)
		}
		return n
	}
	when := func(s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		return fromMicros(num(s))
	}
	for i := 0; i < len(raw); i += 2 {
		k, _ := raw[i].(string)
		s, _ := raw[i+1].(string)
		switch k {
		case "p":
			x.Provider = s
		case "id":
			x.ID = s
		case "ref":
			x.Ref = s
		case "amount":
			x.Amount = s
		case "cur":
			x.Currency = s
		case "dl":
			x.Deadline = when(s)
		case "st":
			x.State = expect.State(num(s))
		case "ca":
			x.CreatedAt = when(s)
		case "pid":
			x.PaymentID = s
		case "out":
			x.Outcome = s
		case "sa":
			x.SettledAt = when(s)
		case "np":
			x.NextPoll = when(s)
		case "att":
			x.Attempts = int(num(s))
		}
	}
	return x, errors.Join(errs...)
}

// distinct returns providers without repeats, as script arguments.
func distinct(providers []string) []any {
	ps := expectstore.Distinct(providers)
	out := make([]any, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

// micros is t in Unix microseconds, as text.
func micros(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

// zeroMicros is the zero time.Time in Unix microseconds.
var zeroMicros = time.Time{}.UnixMicro()

// fromMicros is micros's inverse, in UTC, with the zero time kept zero.
func fromMicros(us int64) time.Time {
	if us == zeroMicros {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}
