package opspage_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/cmd/payhook/internal/opspage"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/idempotency/sqlitestore"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/asynqinbox"
	"github.com/payhook/payhook/inbox/riverinbox"
	"github.com/payhook/payhook/inbox/sqliteinbox"
	"github.com/payhook/payhook/internal/testsupport/testserver"
	"github.com/payhook/payhook/providers/kazawallet"
)

// backend is one inbox backend the page is tested on, with its Lister.
type backend struct {
	name string
	open func(t testing.TB) (inbox.Backend, func(*inbox.Inbox) opspage.Lister)
}

// sqliteDBs are the SQLite backends' databases, for a test to close.
var sqliteDBs sync.Map // *sqliteinbox.Backend -> *sql.DB

var backends = []backend{
	{"memory", func(t testing.TB) (inbox.Backend, func(*inbox.Inbox) opspage.Lister) {
		return inbox.NewMemory(), func(ib *inbox.Inbox) opspage.Lister { return opspage.FromInbox(ib, 0) }
	}},
	{"sqlite", func(t testing.TB) (inbox.Backend, func(*inbox.Inbox) opspage.Lister) {
		db, err := sqlitestore.OpenDB(filepath.Join(t.TempDir(), "payhook.db"))
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		b, err := sqliteinbox.New(db, sqliteinbox.WithPollInterval(10*time.Millisecond))
		require.NoError(t, err)
		require.NoError(t, b.Migrate(context.Background()))
		l, err := opspage.SQLite(db, sqliteinbox.DefaultTable)
		require.NoError(t, err)
		sqliteDBs.Store(b, db)
		return b, func(*inbox.Inbox) opspage.Lister { return l }
	}},
	{"postgres", func(t testing.TB) (inbox.Backend, func(*inbox.Inbox) opspage.Lister) {
		b, l, _, _ := openRiver(t)
		return b, func(*inbox.Inbox) opspage.Lister { return l }
	}},
	{"redis", func(t testing.TB) (inbox.Backend, func(*inbox.Inbox) opspage.Lister) {
		client := redisClient(t)
		queue := "opspage_" + strings.ToLower(rand.Text())
		b, err := asynqinbox.New(client, asynqinbox.WithQueue(queue),
			asynqinbox.WithPollInterval(20*time.Millisecond), asynqinbox.WithRetryPollInterval(20*time.Millisecond))
		require.NoError(t, err)
		l, err := opspage.Asynq(client, queue)
		require.NoError(t, err)
		return b, func(*inbox.Inbox) opspage.Lister { return l }
	}},
	{"redis-list", func(t testing.TB) (inbox.Backend, func(*inbox.Inbox) opspage.Lister) {
		client := redisClient(t)
		b, err := asynqinbox.New(client, asynqinbox.WithQueue("opspage_"+strings.ToLower(rand.Text())),
			asynqinbox.WithPollInterval(20*time.Millisecond), asynqinbox.WithRetryPollInterval(20*time.Millisecond))
		require.NoError(t, err)
		return b, func(ib *inbox.Inbox) opspage.Lister { return opspage.FromInbox(ib, 0) }
	}},
}

// redisClient returns a client of the test's Redis, closed when the test
// ends.
func redisClient(t testing.TB) *redis.Client {
	opts, err := redis.ParseURL(testserver.URL(t, "PAYHOOK_TEST_REDIS_URL"))
	require.NoError(t, err)
	client := redis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	return client
}

// openRiver returns a River inbox in a fresh schema, dropped when the
// test ends, its Lister, its pool and the schema.
func openRiver(t testing.TB) (*riverinbox.Backend, opspage.Lister, *pgxpool.Pool, string) {
	u := testserver.URL(t, "PAYHOOK_TEST_POSTGRES_URL")
	schema := "opspage_" + strings.ToLower(rand.Text())
	t.Cleanup(func() {
		if conn, err := pgx.Connect(context.Background(), u); err == nil {
			conn.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`)
			conn.Close(context.Background())
		}
	})
	pool, err := pgxpool.New(context.Background(), u)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	b, err := riverinbox.New(pool, riverinbox.WithSchema(schema), riverinbox.WithPollInterval(20*time.Millisecond))
	require.NoError(t, err)
	require.NoError(t, b.Migrate(context.Background()))
	l, err := opspage.River(pool, schema, riverinbox.Kind, riverinbox.DefaultQueue)
	require.NoError(t, err)
	return b, l, pool, schema
}

// newInbox returns inbox.New's inbox, failing the test on its error.
func newInbox(t testing.TB, b inbox.Backend, opts ...inbox.Option) *inbox.Inbox {
	t.Helper()
	ib, err := inbox.New(b, opts...)
	require.NoError(t, err)
	return ib
}

// fixture is a page on an inbox whose handler fails the keys in failing.
type fixture struct {
	ib      *inbox.Inbox
	lister  opspage.Lister
	page    *opspage.Page
	srv     *httptest.Server
	rec     *opspage.Recorder
	expects expect.Store
	now     time.Time
}

// order is a Kazawallet event put in the inbox.
func kazawalletEntry(key, ref, amount string, at time.Time) inbox.Entry {
	ev, _ := json.Marshal(kazawallet.Event{OrderID: key, Ref: ref, Amount: payhook.MustAmount(amount), Currency: "USD", Type: kazawallet.Fulfilled})
	return inbox.Entry{ID: "kazawallet:" + key, Provider: "kazawallet", Key: key, Event: ev, ReceivedAt: at}
}

func newFixture(t *testing.T, b backend, opts ...opspage.Option) *fixture {
	backend, lister := b.open(t)
	ib := newInbox(t, backend, inbox.WithMaxAttempts(2), inbox.WithBackoff(0, 0))
	f := &fixture{ib: ib, lister: lister(ib), now: time.Date(2026, 12, 6, 1, 30, 0, 0, time.UTC), expects: expect.NewMemory()}
	f.rec = opspage.NewRecorder(func() time.Time { return f.now })
	page, err := opspage.New(append([]opspage.Option{opspage.WithInbox(ib, f.lister), opspage.WithRecorder(f.rec),
		opspage.WithProvider(kazawallet.Name, opspage.DecoderOf[kazawallet.Event]()),
		opspage.WithExpectations(f.expects)}, opts...)...)
	require.NoError(t, err)
	f.page, f.srv = page, httptest.NewServer(page)
	t.Cleanup(f.srv.Close)
	return f
}

// run runs the inbox until the test ends: entries whose key starts with
// "fail" fail, those whose key starts with "flaky" fail their first
// attempt only.
func (f *fixture) run(t *testing.T) {
	f.ib.Handle(kazawallet.Name, func(ctx context.Context, a inbox.Attempt) error {
		if strings.HasPrefix(a.Key, "fail") || strings.HasPrefix(a.Key, "flaky") && a.N == 1 {
			return errors.New("forward: 500 Internal Server Error: shop down")
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.ib.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// waitState waits for the entry to be in state: the inbox runs it in
// another goroutine (or process), so this is a deadline, not a timing.
func (f *fixture) waitState(t *testing.T, id string, state inbox.State) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		info, err := f.ib.Get(context.Background(), id)
		require.NoError(c, err)
		assert.Equal(c, state, info.State)
	}, 20*time.Second, 10*time.Millisecond)
}

func (f *fixture) get(t *testing.T, path string) (int, string) {
	t.Helper()
	res, err := http.Get(f.srv.URL + path)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

// post posts form with the headers (name, value, ...) a browser adds,
// following no redirect.
func (f *fixture) post(t *testing.T, path string, form url.Values, headers ...string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(b)
}

func TestPage(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, b)
			ctx := context.Background()
			t0 := time.Now().Add(-time.Hour)
			for i, e := range []inbox.Entry{
				kazawalletEntry("ord_1", "order-1", "10.00", t0),
				kazawalletEntry("fail_2", "order-2", "20.50", t0.Add(time.Minute)),
				kazawalletEntry("ord_3", "order-3", "30.00", t0.Add(2*time.Minute)),
			} {
				if i == 1 {
					// The event as a Kazawallet body holds it: the signature field must never show.
					e.Event = []byte(strings.Replace(string(e.Event), `{`, `{"secret":"sig_never_shown",`, 1))
				}
				_, err := f.ib.Put(ctx, e)
				require.NoError(t, err)
			}
			f.run(t)
			f.waitState(t, "kazawallet:fail_2", inbox.Dead)
			f.waitState(t, "kazawallet:ord_3", inbox.Done)
			f.waitState(t, "kazawallet:ord_1", inbox.Done)

			t.Run("index", func(t *testing.T) {
				status, body := f.get(t, "/")
				require.Equal(t, http.StatusOK, status)
				assert.Contains(t, body, `Dead: 1`)
				assert.Contains(t, body, `20.50 USD`)
				assert.Contains(t, body, "forward: 500 Internal Server Error: shop down")
				assert.NotContains(t, body, "sig_never_shown")
				assert.NotContains(t, body, `http-equiv="refresh"`, "nothing pending")
				// Latest first.
				i3, i1 := strings.Index(body, ">ord_3<"), strings.Index(body, ">ord_1<")
				require.Positive(t, i3)
				assert.Less(t, i3, i1, "latest first")
			})
			t.Run("filters", func(t *testing.T) {
				for _, tc := range []struct {
					query     string
					want, not []string
				}{
					{"q=order-3", []string{">ord_3<"}, []string{">ord_1<", ">fail_2<"}},
					{"q=ORD_1", []string{">ord_1<"}, []string{">ord_3<"}},
					{"state=done", []string{">ord_1<", ">ord_3<"}, []string{"Events</h2>.*fail_2"}},
					{"provider=kkiapay", []string{"No event"}, []string{">ord_1<"}},
				} {
					status, body := f.get(t, "/?"+tc.query)
					require.Equal(t, http.StatusOK, status, tc.query)
					events := body[strings.Index(body, `id="events-title"`):]
					for _, w := range tc.want {
						assert.Contains(t, events, w, tc.query)
					}
					for _, n := range tc.not {
						assert.NotContains(t, events, n, tc.query)
					}
				}
				status, _ := f.get(t, "/?state=running")
				assert.Equal(t, http.StatusBadRequest, status)
				if b.name == "sqlite" || b.name == "postgres" {
					status, _ = f.get(t, "/?after=x")
					assert.Equal(t, http.StatusBadRequest, status)
				}
			})
			t.Run("event", func(t *testing.T) {
				status, body := f.get(t, "/event?id=kazawallet:fail_2")
				require.Equal(t, http.StatusOK, status)
				assert.Equal(t, 2, strings.Count(body, "forward: 500 Internal Server Error: shop down"), "both attempts")
				assert.Contains(t, body, `&#34;ref&#34;: &#34;order-2&#34;`, "the event as decoded")
				assert.NotContains(t, body, "sig_never_shown")
				status, _ = f.get(t, "/event?id=kazawallet:nope")
				assert.Equal(t, http.StatusNotFound, status)
			})
			t.Run("cross-site posts refused", func(t *testing.T) {
				for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Sec-Fetch-Site", "same-site"}, {"Origin", "http://evil.example"}} {
					status, _, body := f.post(t, "/replay", url.Values{"id": {"kazawallet:fail_2"}}, h...)
					assert.Equal(t, http.StatusForbidden, status, h)
					assert.Contains(t, body, "a form of another site cannot replay or discard events")
					status, _, _ = f.post(t, "/discard", url.Values{"id": {"kazawallet:fail_2"}, "confirm": {"discard"}}, h...)
					assert.Equal(t, http.StatusForbidden, status, h)
				}
				info, err := f.ib.Get(ctx, "kazawallet:fail_2")
				require.NoError(t, err)
				assert.Equal(t, inbox.Dead, info.State)
			})
			t.Run("discard asks again", func(t *testing.T) {
				status, body := f.get(t, "/discard?id=kazawallet:fail_2")
				require.Equal(t, http.StatusOK, status)
				assert.Contains(t, body, "the payment is gone")
				status, _, body = f.post(t, "/discard", url.Values{"id": {"kazawallet:fail_2"}}, "Sec-Fetch-Site", "same-origin")
				assert.Equal(t, http.StatusOK, status)
				assert.Contains(t, body, "the payment is gone", "without the confirmation, the question again")
				_, err := f.ib.Get(ctx, "kazawallet:fail_2")
				require.NoError(t, err, "not discarded")
				status, _, _ = f.post(t, "/discard", url.Values{"id": {"kazawallet:ord_1"}, "confirm": {"discard"}}, "Sec-Fetch-Site", "same-origin")
				assert.Equal(t, http.StatusConflict, status, "only dead events")
			})
			t.Run("replay", func(t *testing.T) {
				status, _, _ := f.post(t, "/replay", url.Values{"id": {"kazawallet:ord_1"}}, "Sec-Fetch-Site", "same-origin")
				assert.Equal(t, http.StatusConflict, status, "a done event is not replayed here")
				status, loc, _ := f.post(t, "/replay", url.Values{"id": {"kazawallet:fail_2"}}, "Sec-Fetch-Site", "same-origin")
				require.Equal(t, http.StatusSeeOther, status)
				assert.Equal(t, "event?done=replayed&id=kazawallet%3Afail_2", loc)
				f.waitState(t, "kazawallet:fail_2", inbox.Dead) // fails again, twice more
				info, err := f.ib.Get(ctx, "kazawallet:fail_2")
				require.NoError(t, err)
				assert.Equal(t, 4, info.Attempts)
			})
			t.Run("discard", func(t *testing.T) {
				status, loc, _ := f.post(t, "/discard", url.Values{"id": {"kazawallet:fail_2"}, "confirm": {"discard"}}, "Origin", f.srv.URL)
				require.Equal(t, http.StatusSeeOther, status)
				assert.Equal(t, "./?done=discarded", loc)
				_, err := f.ib.Get(ctx, "kazawallet:fail_2")
				assert.ErrorIs(t, err, inbox.ErrNotFound)
				_, body := f.get(t, "/")
				assert.Contains(t, body, `<span class="n">0</span> dead`)
			})
		})
	}
}

func TestPendingRefreshes(t *testing.T) {
	f := newFixture(t, backends[0])
	_, err := f.ib.Put(context.Background(), kazawalletEntry("ord_9", "order-9", "1", time.Now()))
	require.NoError(t, err)
	_, body := f.get(t, "/")
	assert.Contains(t, body, `<meta http-equiv="refresh" content="5">`)
	assert.Contains(t, body, `<span class="n">1</span> pending`)
	_, body = f.get(t, "/event?id=kazawallet:ord_9")
	assert.Contains(t, body, `<meta http-equiv="refresh" content="5">`)
	assert.Contains(t, body, "Not attempted yet")
}

// A done entry whose first attempt failed shows no last error in the list
// (issue 20 §12): its last attempt succeeded. Its page keeps the failed
// attempt as history.
func TestDoneShowsNoStaleError(t *testing.T) {
	f := newFixture(t, backends[0])
	_, err := f.ib.Put(context.Background(), kazawalletEntry("flaky_1", "order-1", "1", time.Now()))
	require.NoError(t, err)
	f.run(t)
	f.waitState(t, "kazawallet:flaky_1", inbox.Done)
	info, err := f.ib.Get(context.Background(), "kazawallet:flaky_1")
	require.NoError(t, err)
	require.Equal(t, "forward: 500 Internal Server Error: shop down", info.LastError(), "the inbox keeps the failed attempt")

	_, body := f.get(t, "/")
	require.Contains(t, body, ">flaky_1<")
	assert.NotContains(t, body, "shop down")
	_, body = f.get(t, "/event?id=kazawallet:flaky_1")
	assert.Contains(t, body, "shop down", "the attempts, as history")
	assert.Contains(t, body, "accepted (2xx): done")
}

// The error pages are HTML that is never cached, as every page is: the
// status used to be written before the headers, which were then lost.
func TestErrorPageHeaders(t *testing.T) {
	f := newFixture(t, backends[0])
	res, err := http.Get(f.srv.URL + "/event?id=kazawallet:nope")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	assert.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
}

func TestLatestPaging(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, b)
			t0 := time.Now().Add(-time.Hour)
			n := opspage.PageSize + 7
			for i := range n {
				_, err := f.ib.Put(context.Background(), kazawalletEntry(fmt.Sprintf("ord_%03d", i), fmt.Sprintf("ref-%03d", i), "1", t0.Add(time.Duration(i)*time.Second)))
				require.NoError(t, err)
			}
			_, body := f.get(t, "/")
			assert.Equal(t, opspage.PageSize, strings.Count(body, `<td><a href="event?id=`))
			assert.Contains(t, body, fmt.Sprintf(">ord_%03d<", n-1))
			assert.NotContains(t, body, ">ord_006<")
			i := strings.Index(body, `class="button secondary" href="`)
			require.Positive(t, i, "a link to the older events")
			next := body[i+len(`class="button secondary" href="`):]
			next = strings.ReplaceAll(next[:strings.Index(next, `"`)], "&amp;", "&")
			_, body = f.get(t, "/"+next)
			assert.Equal(t, 7, strings.Count(body, `<td><a href="event?id=`))
			assert.Contains(t, body, ">ord_006<")
			assert.Contains(t, body, ">ord_000<")
			assert.NotContains(t, body, ">ord_007<")
			assert.NotContains(t, body, "Older events")
		})
	}
}

// TestSearchWindow: a search reads a window of the newest entries, says
// so, and offers the window before; an exact key is found wherever it is.
func TestSearchWindow(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, b, opspage.WithSearchWindow(5))
			t0 := time.Now().Add(-time.Hour)
			n := 12
			for i := range n {
				_, err := f.ib.Put(context.Background(), kazawalletEntry(fmt.Sprintf("ord_%03d", i), fmt.Sprintf("ref-%03d", i), "1", t0.Add(time.Duration(i)*time.Second)))
				require.NoError(t, err)
			}
			f.run(t) // done: asynq's completed tasks are those it bounds
			for i := range n {
				f.waitState(t, fmt.Sprintf("kazawallet:ord_%03d", i), inbox.Done)
			}
			events := func(body string) string { return body[strings.Index(body, `id="events-title"`):] }

			_, body := f.get(t, "/?q=ref-010")
			assert.Contains(t, events(body), ">ord_010<", "in the window")
			assert.Regexp(t, `A search reads [5-9] events at a time`, body, "asynq reads whole pages of its own")

			_, body = f.get(t, "/?q=ref-002")
			assert.NotContains(t, events(body), ">ord_002<", "beyond the window")
			assert.Regexp(t, `searched the latest [5-9]\b`, body)
			i := strings.Index(body, `class="note search-window"`)
			require.Positive(t, i)
			note := body[i:]
			note = note[:strings.Index(note, "</p>")]
			if strings.HasPrefix(b.name, "redis") && b.name != "redis-list" {
				assert.Contains(t, note, "payhook inbox list", "asynq cannot search on")
				assert.NotContains(t, note, "href=")
			} else {
				j := strings.Index(note, `href="`)
				require.Positive(t, j, "a link to the window before")
				next := note[j+len(`href="`):]
				next = strings.ReplaceAll(next[:strings.Index(next, `"`)], "&amp;", "&")
				_, body = f.get(t, "/"+next)
				assert.Contains(t, events(body), ">ord_002<", "in the window before")
				assert.Contains(t, body, "searched the 5 before the previous search")
			}

			_, body = f.get(t, "/?q=ord_001")
			assert.Contains(t, events(body), ">ord_001<", "an exact key, wherever it is")
			assert.Equal(t, 1, strings.Count(events(body), ">ord_001<"))
			_, body = f.get(t, "/?q=ord_011")
			assert.Equal(t, 1, strings.Count(events(body), ">ord_011<"), "an exact key in the window is listed once")
			_, body = f.get(t, "/?q=ord_001&state=dead")
			assert.NotContains(t, events(body), ">ord_001<", "the exact key keeps the filters")
		})
	}
}

func TestOverdue(t *testing.T) {
	f := newFixture(t, backends[0])
	ctx := context.Background()
	past := time.Now().Add(-time.Hour)
	require.NoError(t, f.expects.Add(ctx, expect.Expectation{Provider: "kazawallet", Ref: "order-77", Amount: "12.00", Currency: "USD", Deadline: past}))
	require.NoError(t, f.expects.Add(ctx, expect.Expectation{Provider: "kkiapay", ID: "tx_5", Amount: "2500", Currency: "XOF", Deadline: past}))
	_, err := f.expects.MarkOverdue(ctx, nil, time.Now(), 10)
	require.NoError(t, err)
	_, body := f.get(t, "/")
	assert.Contains(t, body, "Overdue expected payments: 2")
	assert.Contains(t, body, "Kazawallet has no status API: find the payment with reference order-77 in the Kazawallet dashboard")
	assert.Contains(t, body, "payhook expect cancel kkiapay tx_5")
	assert.Contains(t, body, `<span class="n">2</span> overdue`)
}

func TestRates(t *testing.T) {
	f := newFixture(t, backends[0])
	obs := f.rec.Observer()
	ctx := context.Background()
	for range 3 {
		obs.Delivery(ctx, payhook.Delivery{Provider: "kazawallet", Outcome: payhook.Processed})
	}
	obs.Delivery(ctx, payhook.Delivery{Provider: "kazawallet", Outcome: payhook.Rejected})
	f.now = f.now.Add(-2 * time.Hour) // counted two hours ago: out of the chart
	obs.Delivery(ctx, payhook.Delivery{Provider: "kazawallet", Outcome: payhook.Failed})
	f.now = f.now.Add(2*time.Hour + time.Minute)
	obs.Delivery(ctx, payhook.Delivery{Provider: "kazawallet", Outcome: payhook.Duplicate})
	obs.Attempt(ctx, payhook.Attempt{Provider: "kazawallet", Key: "ord_1", N: 2, Duration: 1500 * time.Millisecond})

	m := f.rec.Minutes()
	require.Len(t, m, 60)
	assert.Equal(t, [4]int{0, 1, 0, 0}, m[59])
	assert.Equal(t, [4]int{3, 0, 1, 0}, m[58])
	assert.Equal(t, []time.Duration{-1, 1500 * time.Millisecond}, f.rec.Durations("kazawallet:ord_1"))

	_, body := f.get(t, "/")
	assert.Contains(t, body, `<polyline class="line o-processed"`)
	assert.Contains(t, body, "processed: 3")
	assert.Contains(t, body, "failed: 0")
	assert.Contains(t, body, "peak 3/min")
}

// TestAttemptDurations: an attempt's duration is shown when this process
// saw it; otherwise "—", and the page says durations are known for this
// process's attempts only.
func TestAttemptDurations(t *testing.T) {
	f := newFixture(t, backends[0])
	ctx := context.Background()
	for _, key := range []string{"fail_9", "ord_9"} {
		_, err := f.ib.Put(ctx, kazawalletEntry(key, "order-9", "1", time.Now()))
		require.NoError(t, err)
	}
	f.run(t) // the Recorder is not the inbox's observer here: it sees no attempt
	f.waitState(t, "kazawallet:fail_9", inbox.Dead)
	f.waitState(t, "kazawallet:ord_9", inbox.Done)
	obs := f.rec.Observer()
	obs.Attempt(ctx, payhook.Attempt{Provider: "kazawallet", Key: "fail_9", N: 2, Duration: 1500 * time.Millisecond})
	obs.Attempt(ctx, payhook.Attempt{Provider: "kazawallet", Key: "ord_9", N: 1, Duration: 12 * time.Millisecond})

	_, body := f.get(t, "/event?id=kazawallet:fail_9")
	rows := body[strings.Index(body, `<table class="attempts">`):]
	rows = rows[:strings.Index(rows, "</table>")]
	assert.Regexp(t, `(?s)<td class="num">1</td>.*<td class="num">—</td>.*<td class="num">2</td>.*<td class="num">1.5s</td>`, rows)
	assert.Contains(t, body, "Duration known for attempts of this process only")

	_, body = f.get(t, "/event?id=kazawallet:ord_9")
	assert.Contains(t, body, `<td class="num">12ms</td>`)
	assert.NotContains(t, body, "Duration known for attempts of this process only", "every duration known")
}

func TestNoInbox(t *testing.T) {
	page, err := opspage.New()
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	page.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), "serve keeps no inbox")
	rec = httptest.NewRecorder()
	page.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/event?id=x", nil))
	assert.Equal(t, http.StatusNotFound, rec.Code)
}

func TestNewRefuses(t *testing.T) {
	for name, o := range map[string]opspage.Option{
		"nil inbox":    opspage.WithInbox(nil, nil),
		"nil decoder":  opspage.WithProvider("kazawallet", nil),
		"nil store":    opspage.WithExpectations(nil),
		"nil recorder": opspage.WithRecorder(nil),
		"nil clock":    opspage.WithClock(nil),
	} {
		_, err := opspage.New(o)
		assert.Error(t, err, name)
	}
	_, err := opspage.SQLite(nil, "t")
	assert.Error(t, err)
}

// TestListerInfoIsGet: a Lister that reads entries with their place (the
// River one) reads each as the backend's Get does, so the page shows the
// same entry in the list and on its own page.
func TestListerInfoIsGet(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, b)
			ctx := context.Background()
			_, err := f.ib.Put(ctx, kazawalletEntry("fail_1", "order-1", "1.50", time.Now().Add(-time.Minute)))
			require.NoError(t, err)
			_, err = f.ib.Put(ctx, kazawalletEntry("ord_2", "order-2", "2.50", time.Now()))
			require.NoError(t, err)
			f.run(t)
			f.waitState(t, "kazawallet:fail_1", inbox.Dead)
			f.waitState(t, "kazawallet:ord_2", inbox.Done)
			found, err := f.lister.Latest(ctx, opspage.Query{}, "", 10)
			require.NoError(t, err)
			require.Len(t, found, 2)
			assert.Equal(t, "kazawallet:ord_2", found[0].ID, "newest first")
			for _, fd := range found {
				if fd.Info == nil {
					continue
				}
				want, err := f.ib.Get(ctx, fd.ID)
				require.NoError(t, err)
				assert.Equal(t, want, *fd.Info)
			}
		})
	}
}

// TestInboxDown: an inbox that fails is answered 500, its error logged and
// never shown.
func TestInboxDown(t *testing.T) {
	f := newFixture(t, backends[1]) // SQLite
	db, ok := sqliteDBs.Load(f.ib.Backend())
	require.True(t, ok)
	require.NoError(t, db.(*sql.DB).Close())
	status, body := f.get(t, "/")
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.NotContains(t, body, "database is closed")
	assert.Contains(t, body, "the log says why")
}

// TestErrorsRedacted (security review): an error written by an older
// payhook may quote PAYHOOK_FORWARD_URL with its token; the page shows it
// as payhook inbox list does, without the query's values.
func TestErrorsRedacted(t *testing.T) {
	f := newFixture(t, backends[0])
	_, err := f.ib.Put(context.Background(), kazawalletEntry("leak_1", "order-1", "1", time.Now()))
	require.NoError(t, err)
	f.ib.Handle(kazawallet.Name, func(context.Context, inbox.Attempt) error {
		return errors.New("forward: POST http://app.example/hooks?token=hunter2: dial tcp: connection refused")
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.ib.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	f.waitState(t, "kazawallet:leak_1", inbox.Dead)

	for _, path := range []string{"/", "/event?id=kazawallet:leak_1"} {
		code, body := f.get(t, path)
		require.Equal(t, http.StatusOK, code, path)
		assert.Contains(t, body, "http://app.example/hooks?token=xxxxx", path)
		assert.NotContains(t, body, "hunter2", path)
	}
}
