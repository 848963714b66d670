package payhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/providers/kazawallet"
)

const (
	apiKey    = "test_api_key"
	apiSecret = "test_api_secret"
)

func provider(t testing.TB) *kazawallet.Provider {
	t.Helper()
	p, err := kazawallet.New(apiKey, apiSecret)
	require.NoError(t, err)
	return p
}

// webhook returns a Kazawallet webhook body signed for amount and orderID.
func webhook(orderID, amount, status string) string {
	b, _ := json.Marshal(map[string]string{
		"order_id": orderID, "amount": amount, "status": status, "ref": "user-7", "currency": "USD",
		"secret": kazawallet.Sign(apiKey, apiSecret, amount, orderID),
	})
	return string(b)
}

func post(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/kazawallet", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// recorder is a next handler that records what reached it.
type recorder struct {
	mu     sync.Mutex
	events []kazawallet.Event
	bodies []string
	status int // answered; 0 means 200 by writing nothing
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e, ok := kazawallet.EventFrom(r.Context())
	if !ok {
		http.Error(w, "no event in context", http.StatusTeapot)
		return
	}
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.events = append(rec.events, e)
	rec.bodies = append(rec.bodies, string(body))
	rec.mu.Unlock()
	if rec.status != 0 {
		w.WriteHeader(rec.status)
	}
}

func (rec *recorder) calls() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.events)
}

func TestMiddlewareDeliversTypedEvent(t *testing.T) {
	rec := &recorder{}
	h := payhook.Middleware(provider(t))(rec)
	body := webhook("ord_123", "10.00", "fulfilled")

	w := serve(h, post(body))

	assert.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, 1, rec.calls())
	e := rec.events[0]
	assert.Equal(t, "ord_123", e.OrderID)
	assert.Equal(t, "10.00", e.Amount.String())
	assert.Equal(t, kazawallet.Fulfilled, e.Type)
	assert.Equal(t, "user-7", e.Ref)
	assert.Equal(t, "USD", e.Currency)
	assert.Equal(t, body, rec.bodies[0], "the next handler reads the same body")
}

func TestMiddlewareRejects(t *testing.T) {
	forged := strings.Replace(webhook("ord_1", "10.00", "fulfilled"), `"amount":"10.00"`, `"amount":"1000.00"`, 1)
	tests := []struct {
		name      string
		req       func() *http.Request
		opts      []payhook.Option
		want      int
		wantAllow bool
	}{
		{name: "GET", req: func() *http.Request { return httptest.NewRequest(http.MethodGet, "/", nil) }, want: 405, wantAllow: true},
		{name: "PUT", req: func() *http.Request { r := post(webhook("o", "1", "fulfilled")); r.Method = http.MethodPut; return r }, want: 405, wantAllow: true},
		{name: "forged amount", req: func() *http.Request { return post(forged) }, want: 401},
		{name: "no secret", req: func() *http.Request { return post(`{"order_id":"o","amount":"1"}`) }, want: 401},
		{name: "malformed json", req: func() *http.Request { return post(`{"order_id":`) }, want: 400},
		{name: "empty body", req: func() *http.Request { return post("") }, want: 400},
		{name: "no body", req: func() *http.Request { r := post(""); r.Body = http.NoBody; return r }, want: 400},
		{
			name: "too large by Content-Length",
			req:  func() *http.Request { return post(webhook("o", "1", strings.Repeat("x", 200))) },
			opts: []payhook.Option{payhook.WithMaxBodyBytes(100)},
			want: 413,
		},
		{
			name: "too large, length unknown",
			req: func() *http.Request {
				r := post("")
				r.Body = io.NopCloser(strings.NewReader(webhook("o", "1", strings.Repeat("x", 200))))
				r.ContentLength = -1
				return r
			},
			opts: []payhook.Option{payhook.WithMaxBodyBytes(100)},
			want: 413,
		},
		{
			name: "too large for an outer MaxBytesReader",
			req: func() *http.Request {
				r := post(webhook("o", "1", "fulfilled"))
				r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 10)
				r.ContentLength = -1
				return r
			},
			want: 413,
		},
		{
			name: "body read fails",
			req: func() *http.Request {
				r := post("")
				r.Body = io.NopCloser(io.MultiReader(strings.NewReader(`{"order_id"`), errReader{}))
				r.ContentLength = -1
				return r
			},
			want: 400,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			var logs bytes.Buffer
			opts := append([]payhook.Option{payhook.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))}, tt.opts...)
			w := serve(payhook.Middleware(provider(t), opts...)(rec), tt.req())

			assert.Equal(t, tt.want, w.Code)
			assert.Zero(t, rec.calls(), "the next handler is not called")
			assert.Equal(t, http.StatusText(tt.want)+"\n", w.Body.String(), "the body is the status text alone")
			if tt.wantAllow {
				assert.Equal(t, "POST", w.Header().Get("Allow"))
			}
			assert.Contains(t, logs.String(), "delivery rejected")
			assert.Contains(t, logs.String(), fmt.Sprintf("status=%d", tt.want))
			assert.NotContains(t, logs.String(), apiSecret)
		})
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestNoSecretOrSignatureLeaks(t *testing.T) {
	// A forged delivery for a real order: the expected signature must appear
	// in neither the response nor the logs.
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := payhook.Middleware(provider(t), payhook.WithLogger(logger))(&recorder{})
	expected := kazawallet.Sign(apiKey, apiSecret, "10.00", "ord_1")
	forged := `{"order_id":"ord_1","amount":"10.00","secret":"` + kazawallet.Sign(apiKey, "guess", "10.00", "ord_1") + `"}`

	w := serve(h, post(forged))
	require.Equal(t, http.StatusUnauthorized, w.Code)

	ok := serve(h, post(webhook("ord_2", "5", "fulfilled")))
	require.Equal(t, http.StatusOK, ok.Code)
	serve(h, post(webhook("ord_2", "5", "fulfilled"))) // a logged duplicate

	for _, out := range []string{w.Body.String(), ok.Body.String(), logs.String()} {
		assert.NotContains(t, out, expected)
		assert.NotContains(t, out, kazawallet.Sign(apiKey, apiSecret, "5", "ord_2"))
		assert.NotContains(t, out, apiSecret)
		assert.NotContains(t, out, apiKey)
	}
}

func TestDuplicateIsAcknowledgedOnce(t *testing.T) {
	rec := &recorder{}
	var logs bytes.Buffer
	h := payhook.Middleware(provider(t), payhook.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))(rec)
	body := webhook("ord_1", "10", "fulfilled")

	first := serve(h, post(body))
	second := serve(h, post(body))
	// The status is not signed: a replay with another status is the same event.
	third := serve(h, post(strings.Replace(body, "fulfilled", "timed_out", 1)))

	assert.Equal(t, http.StatusOK, first.Code)
	assert.Equal(t, http.StatusOK, second.Code)
	assert.Equal(t, http.StatusOK, third.Code)
	assert.Equal(t, "already processed\n", second.Body.String())
	assert.Equal(t, 1, rec.calls())
	assert.Contains(t, logs.String(), "duplicate delivery acknowledged")
	assert.Contains(t, logs.String(), "key=ord_1")
}

func TestFailedHandlerReleasesForRetry(t *testing.T) {
	tests := []struct {
		name   string
		status int
	}{
		{"500", http.StatusInternalServerError},
		{"503", http.StatusServiceUnavailable},
		{"302 is not an acknowledgement", http.StatusFound},
		{"400", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{status: tt.status}
			h := payhook.Middleware(provider(t))(rec)
			body := webhook("ord_1", "10", "fulfilled")

			assert.Equal(t, tt.status, serve(h, post(body)).Code)
			rec.status = http.StatusAccepted // the retry succeeds
			assert.Equal(t, http.StatusAccepted, serve(h, post(body)).Code)
			assert.Equal(t, http.StatusOK, serve(h, post(body)).Code, "then it is done")
			assert.Equal(t, 2, rec.calls())
		})
	}
}

func TestPanicReleasesAndRepanics(t *testing.T) {
	store := idempotency.NewMemory()
	calls := 0
	h := payhook.Middleware(provider(t), payhook.WithStore(store))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			panic("boom")
		}
	}))
	body := webhook("ord_1", "10", "fulfilled")

	assert.PanicsWithValue(t, "boom", func() { serve(h, post(body)) })
	token := idempotency.NewToken()
	state, err := store.Claim(context.Background(), "kazawallet:ord_1", token, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Acquired, state, "the panicking delivery's claim was released")
	require.NoError(t, store.Release(context.Background(), "kazawallet:ord_1", token))

	assert.Equal(t, http.StatusOK, serve(h, post(body)).Code)
	assert.Equal(t, http.StatusOK, serve(h, post(body)).Code)
	assert.Equal(t, 2, calls)
}

func TestSilentHandlerAcknowledges(t *testing.T) {
	calls := 0
	h := payhook.Middleware(provider(t))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls++ }))
	body := webhook("ord_1", "10", "fulfilled")
	assert.Equal(t, http.StatusOK, serve(h, post(body)).Code)
	assert.Equal(t, http.StatusOK, serve(h, post(body)).Code)
	assert.Equal(t, 1, calls, "writing nothing is net/http's 200, so the event is done")
}

// TestSilentHandlerOfAGoneClient: a handler that gives up without a word
// once the client has gone (or a timeout in front of payhook has fired) has
// acknowledged nothing: net/http sends no 200 to a closed connection, the
// provider retries, and the retry must be processed, not "already
// processed". An explicit 2xx still counts.
func TestSilentHandlerOfAGoneClient(t *testing.T) {
	tests := []struct {
		name  string
		write bool
		done  bool
	}{
		{name: "nothing written", done: false},
		{name: "an explicit 200", write: true, done: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			calls := 0
			h := payhook.Middleware(provider(t))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls++
				if tt.write {
					w.WriteHeader(http.StatusOK)
				}
				cancel() // the client hangs up while the handler runs
			}))
			body := webhook("ord_1", "10", "fulfilled")
			serve(h, post(body).WithContext(ctx))
			second := serve(h, post(body))
			assert.Equal(t, http.StatusOK, second.Code)
			if tt.done {
				assert.Equal(t, 1, calls)
				assert.Equal(t, "already processed\n", second.Body.String())
			} else {
				assert.Equal(t, 2, calls, "the retry is processed")
			}
		})
	}
}

// TestClientDisconnectOverRealHTTP is the same over a real connection: the
// client hangs up while the handler waits on the request's context.
func TestClientDisconnectOverRealHTTP(t *testing.T) {
	var calls atomic.Int32
	entered := make(chan struct{}, 2)
	srv := httptest.NewServer(payhook.Middleware(provider(t))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			entered <- struct{}{}
			<-r.Context().Done() // gives up, silently, once the client has gone
		}
	})))
	defer srv.Close()
	body := webhook("ord_1", "10", "fulfilled")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-entered; cancel() }()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(body))
	require.NoError(t, err)
	_, err = http.DefaultClient.Do(req)
	require.ErrorIs(t, err, context.Canceled)

	require.Eventually(t, func() bool {
		res, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK && calls.Load() == 2
	}, 5*time.Second, 10*time.Millisecond, "the retry is processed once the first claim is released")
}

// TestInformationalStatuses: a 1xx is not the answer, except 101, which
// net/http sends as the final status.
func TestInformationalStatuses(t *testing.T) {
	tests := []struct {
		name  string
		codes []int
		done  bool
	}{
		{"103 then nothing is 200", []int{http.StatusEarlyHints}, true},
		{"100 then 204", []int{http.StatusContinue, http.StatusNoContent}, true},
		{"103 then 500", []int{http.StatusEarlyHints, http.StatusInternalServerError}, false},
		{"101 is final", []int{http.StatusSwitchingProtocols}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			h := payhook.Middleware(provider(t))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls++
				if calls == 1 {
					for _, c := range tt.codes {
						w.WriteHeader(c)
					}
				}
			}))
			body := webhook("ord_1", "10", "fulfilled")
			serve(h, post(body))
			w := serve(h, post(body))
			assert.Equal(t, http.StatusOK, w.Code)
			if tt.done {
				assert.Equal(t, 1, calls, "the first delivery was acknowledged, so it is done")
			} else {
				assert.Equal(t, 2, calls, "the first delivery was not acknowledged, so the retry is processed")
			}
		})
	}
}

func TestInFlightIsNotAcknowledged(t *testing.T) {
	entered, unblock := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	h := payhook.Middleware(provider(t))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		close(entered)
		<-unblock
	}))
	body := webhook("ord_1", "10", "fulfilled")

	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- serve(h, post(body)) }()
	<-entered
	w := serve(h, post(body))
	assert.Equal(t, http.StatusConflict, w.Code, "a concurrent duplicate is not told success")
	assert.Equal(t, "1", w.Header().Get("Retry-After"))
	close(unblock)
	assert.Equal(t, http.StatusOK, (<-done).Code)
	assert.Equal(t, http.StatusOK, serve(h, post(body)).Code, "the retry finds it done")
	assert.Equal(t, int32(1), calls.Load())
}

func TestConcurrentDuplicatesProcessedOnce(t *testing.T) {
	var calls atomic.Int32
	h := payhook.Middleware(provider(t))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		time.Sleep(time.Millisecond) // hold the claim while the others arrive
	}))
	body := webhook("ord_1", "10", "fulfilled")
	var wg sync.WaitGroup
	codes := make([]int, 100)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = serve(h, post(body)).Code
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), calls.Load())
	for _, c := range codes {
		assert.Contains(t, []int{http.StatusOK, http.StatusConflict}, c)
	}
}

// failingStore is a store whose server is down: every call fails.
type failingStore struct {
	idempotency.Store
	claim, complete bool
}

var errDown = errors.New("connection refused")

func (s failingStore) Claim(ctx context.Context, key, token string, lease time.Duration) (idempotency.State, error) {
	if s.claim {
		return 0, errDown
	}
	return s.Store.Claim(ctx, key, token, lease)
}

func (s failingStore) Complete(ctx context.Context, key, token string, retention time.Duration) error {
	if s.complete {
		return errDown
	}
	return s.Store.Complete(ctx, key, token, retention)
}

func TestStoreDown(t *testing.T) {
	t.Run("claim fails: 503 and no handler call", func(t *testing.T) {
		rec := &recorder{}
		var logs bytes.Buffer
		h := payhook.Middleware(provider(t),
			payhook.WithStore(failingStore{Store: idempotency.NewMemory(), claim: true}),
			payhook.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))(rec)
		w := serve(h, post(webhook("ord_1", "10", "fulfilled")))
		assert.Equal(t, http.StatusServiceUnavailable, w.Code)
		assert.Equal(t, "Service Unavailable\n", w.Body.String())
		assert.Zero(t, rec.calls())
		assert.Contains(t, logs.String(), "connection refused")
		assert.Contains(t, logs.String(), "level=ERROR")
	})
	t.Run("complete fails: logged, answer stands", func(t *testing.T) {
		rec := &recorder{}
		var logs bytes.Buffer
		h := payhook.Middleware(provider(t),
			payhook.WithStore(failingStore{Store: idempotency.NewMemory(), complete: true}),
			payhook.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))(rec)
		w := serve(h, post(webhook("ord_1", "10", "fulfilled")))
		assert.Equal(t, http.StatusOK, w.Code, "the handler did its work and said so")
		assert.Equal(t, 1, rec.calls())
		assert.Contains(t, logs.String(), "event processed but not recorded as done")
	})
	t.Run("store full: 503", func(t *testing.T) {
		store := idempotency.NewMemory(idempotency.WithMaxKeys(1))
		_, err := store.Claim(context.Background(), "other", idempotency.NewToken(), time.Hour)
		require.NoError(t, err)
		rec := &recorder{}
		h := payhook.Middleware(provider(t), payhook.WithStore(store))(rec)
		assert.Equal(t, http.StatusServiceUnavailable, serve(h, post(webhook("ord_1", "10", "fulfilled"))).Code)
		assert.Zero(t, rec.calls())
	})
}

// chargedFirst is the Kazawallet provider without its VerifiesLocally, as
// a provider whose Verify calls an API to authenticate: the rate limit
// charges every request, before its body is read.
func chargedFirst(t testing.TB) payhook.Provider[kazawallet.Event] {
	return struct {
		payhook.Provider[kazawallet.Event]
	}{provider(t)}
}

func TestRateLimit(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rec := &recorder{}
	h := payhook.Middleware(chargedFirst(t),
		payhook.WithRateLimit(payhook.RateLimit{Rate: 0.5, Burst: 2}),
		payhook.WithClock(func() time.Time { return now }))(rec)
	from := func(addr string, i int) *http.Request {
		r := post(webhook(fmt.Sprint("ord_", addr, i), "10", "fulfilled"))
		r.RemoteAddr = addr + ":4242"
		return r
	}

	assert.Equal(t, http.StatusOK, serve(h, from("10.0.0.1", 1)).Code)
	assert.Equal(t, http.StatusOK, serve(h, from("10.0.0.1", 2)).Code)
	w := serve(h, from("10.0.0.1", 3))
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Equal(t, "2", w.Header().Get("Retry-After"), "one token at 0.5/s takes 2s")
	assert.Equal(t, http.StatusOK, serve(h, from("10.0.0.2", 1)).Code, "another client has its own bucket")

	now = now.Add(2 * time.Second)
	assert.Equal(t, http.StatusOK, serve(h, from("10.0.0.1", 3)).Code, "the bucket refilled")
	assert.Equal(t, 4, rec.calls())
}

// TestRateLimitRetryAfterWithoutRefill: a rate of zero never refills the
// bucket. Retry-After must not wrap around to "1", which would have the
// client hammer the endpoint; it is capped at an hour.
func TestRateLimitRetryAfterWithoutRefill(t *testing.T) {
	tests := []struct {
		name string
		rate rate.Limit
	}{
		{"zero", 0},
		{"negative", -1},
		{"one per decade", rate.Every(10 * 365 * 24 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := payhook.Middleware(chargedFirst(t), payhook.WithRateLimit(payhook.RateLimit{Rate: tt.rate, Burst: 1}))(&recorder{})
			require.Equal(t, http.StatusOK, serve(h, post(webhook("ord_1", "10", "fulfilled"))).Code)
			w := serve(h, post(webhook("ord_2", "10", "fulfilled")))
			assert.Equal(t, http.StatusTooManyRequests, w.Code)
			assert.Equal(t, "3600", w.Header().Get("Retry-After"))
		})
	}
}

// TestRateLimitIPv6Network: one host commonly has a whole /64, so a client
// that picks a new address of it for each request must still be one client.
func TestRateLimitIPv6Network(t *testing.T) {
	h := payhook.Middleware(chargedFirst(t), payhook.WithRateLimit(payhook.RateLimit{Rate: 1, Burst: 1}))(&recorder{})
	from := func(addr string, i int) int {
		r := post(webhook(fmt.Sprint("ord_", i), "10", "fulfilled"))
		r.RemoteAddr = addr
		return serve(h, r).Code
	}
	assert.Equal(t, http.StatusOK, from("[2001:db8:1:2::1]:4242", 1))
	assert.Equal(t, http.StatusTooManyRequests, from("[2001:db8:1:2::2]:4242", 2), "same /64")
	assert.Equal(t, http.StatusTooManyRequests, from("[2001:db8:1:2:ffff:ffff:ffff:ffff]:1", 3), "same /64")
	assert.Equal(t, http.StatusOK, from("[2001:db8:1:3::1]:4242", 4), "another /64")
	assert.Equal(t, http.StatusOK, from("10.0.0.1:4242", 5))
	assert.Equal(t, http.StatusTooManyRequests, from("[::ffff:10.0.0.1]:4242", 6), "an IPv4-mapped address is its IPv4 address")
	assert.Equal(t, http.StatusOK, from("10.0.0.2:4242", 7), "IPv4 addresses are clients of their own")
}

func TestRateLimitKey(t *testing.T) {
	h := payhook.Middleware(chargedFirst(t), payhook.WithRateLimit(payhook.RateLimit{
		Rate:  1,
		Burst: 1,
		Key:   func(r *http.Request) string { return r.Header.Get("X-Real-IP") },
	}))(&recorder{})
	from := func(ip string, i int) *http.Request {
		r := post(webhook(fmt.Sprint("ord_", ip, i), "10", "fulfilled"))
		r.Header.Set("X-Real-IP", ip)
		return r
	}
	assert.Equal(t, http.StatusOK, serve(h, from("1.1.1.1", 1)).Code)
	assert.Equal(t, http.StatusTooManyRequests, serve(h, from("1.1.1.1", 2)).Code)
	assert.Equal(t, http.StatusOK, serve(h, from("2.2.2.2", 1)).Code, "same RemoteAddr, other key")
}

func TestRateLimitRunsBeforeTheBodyIsRead(t *testing.T) {
	h := payhook.Middleware(chargedFirst(t), payhook.WithRateLimit(payhook.RateLimit{Rate: 1, Burst: 1}))(&recorder{})
	serve(h, post(webhook("ord_1", "10", "fulfilled")))
	r := post("")
	r.Body = io.NopCloser(errReader{}) // reading it would answer 400
	assert.Equal(t, http.StatusTooManyRequests, serve(h, r).Code)
}

// fakeProvider is a Provider whose Verify answers what the test says, to
// reach branches no real provider takes on demand.
type fakeProvider struct {
	err error
	key string
}

func (fakeProvider) Name() string { return "fake" }
func (p fakeProvider) Verify(context.Context, http.Header, []byte) (string, error) {
	return "event", p.err
}
func (p fakeProvider) Key(string) string { return p.key }

func TestProviderErrorsMapToStatus(t *testing.T) {
	tests := []struct {
		name string
		p    fakeProvider
		want int
	}{
		{"provider API down", fakeProvider{err: fmt.Errorf("fake: %w: status API: timeout", payhook.ErrUnavailable), key: "k"}, 503},
		{"not confirmed", fakeProvider{err: fmt.Errorf("fake: %w: not completed", payhook.ErrInvalidSignature), key: "k"}, 401},
		{"unexpected error", fakeProvider{err: errors.New("fake: bug"), key: "k"}, 500},
		{"no idempotency key", fakeProvider{key: ""}, 400},
		{"ok", fakeProvider{key: "k"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			h := payhook.Middleware[string](tt.p)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called = true
				e, ok := payhook.EventFrom[string](r.Context())
				assert.True(t, ok)
				assert.Equal(t, "event", e)
				k, ok := payhook.KeyFrom(r.Context())
				assert.True(t, ok)
				assert.Equal(t, "k", k)
			}))
			w := serve(h, post("{}"))
			assert.Equal(t, tt.want, w.Code)
			assert.Equal(t, tt.want == 200, called)
			assert.NotContains(t, w.Body.String(), "fake")
		})
	}
}

// TestEachSentinelHasOneClass (issue 18): the one table of sentinels gives
// each its status, its reason for the observer and its Retry-After.
func TestEachSentinelHasOneClass(t *testing.T) {
	tests := []struct {
		err        error
		status     int
		reason     payhook.Reason
		retryAfter string
	}{
		{payhook.ErrInvalidSignature, 401, payhook.ReasonInvalidSignature, ""},
		{payhook.ErrMalformed, 400, payhook.ReasonMalformed, ""},
		{payhook.ErrTooLarge, 413, payhook.ReasonTooLarge, ""},
		{payhook.ErrMethodNotAllowed, 405, payhook.ReasonMethodNotAllowed, ""},
		{payhook.ErrRateLimited, 429, payhook.ReasonRateLimited, ""},
		{payhook.ErrInFlight, 409, payhook.ReasonInFlight, ""},
		{payhook.ErrPending, 503, payhook.ReasonPending, "30"},
		{errors.Join(payhook.ErrUnavailable, payhook.ErrPending), 503, payhook.ReasonPending, "30"},
		{payhook.ErrUnavailable, 503, payhook.ReasonUnavailable, ""},
		{idempotency.ErrFull, 503, payhook.ReasonUnavailable, ""},
		{payhook.ErrUnexpected, 503, payhook.ReasonUnexpected, "5"},
		{payhook.ErrMismatch, 500, payhook.ReasonMismatch, ""},
		{errors.New("fake: bug"), 500, payhook.ReasonHandler, ""},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			var o observed
			h := payhook.Middleware[string](fakeProvider{err: fmt.Errorf("fake: %w", tt.err), key: "k"},
				payhook.WithObserver(o.observer()))(http.NotFoundHandler())
			w := serve(h, post("{}"))
			assert.Equal(t, tt.status, w.Code)
			assert.Equal(t, tt.retryAfter, w.Header().Get("Retry-After"))
			outcome := payhook.Rejected
			if tt.reason == payhook.ReasonInFlight {
				outcome = payhook.InFlight
			}
			assert.Equal(t, []string{string(outcome) + "/" + string(tt.reason)}, o.outcomes())
		})
	}
}

func TestKeysArePrefixedByProvider(t *testing.T) {
	// One store for two providers: the same id in each is two events.
	store := idempotency.NewMemory()
	calls := 0
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls++ })
	a := payhook.Middleware(provider(t), payhook.WithStore(store))(next)
	b := payhook.Middleware[string](fakeProvider{key: "ord_1"}, payhook.WithStore(store))(next)
	serve(a, post(webhook("ord_1", "10", "fulfilled")))
	serve(b, post("{}"))
	assert.Equal(t, 2, calls)
	state, err := store.Claim(context.Background(), "kazawallet:ord_1", idempotency.NewToken(), time.Minute)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Done, state)
}

func TestEventFromWithoutMiddleware(t *testing.T) {
	_, ok := kazawallet.EventFrom(context.Background())
	assert.False(t, ok)
	_, ok = payhook.KeyFrom(context.Background())
	assert.False(t, ok)
	// The wrong event type is no event.
	h := payhook.Middleware[string](fakeProvider{key: "k"})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := kazawallet.EventFrom(r.Context())
		assert.False(t, ok)
	}))
	serve(h, post("{}"))
}

func TestContextSurvivesTheRequest(t *testing.T) {
	// The handler's context keeps the request's values and cancellation.
	type key struct{}
	var got context.Context
	h := payhook.Middleware(provider(t))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Context() }))
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	serve(h, post(webhook("ord_1", "10", "fulfilled")).WithContext(ctx))
	require.NotNil(t, got)
	assert.Equal(t, "v", got.Value(key{}))
	cancel()
	assert.ErrorIs(t, got.Err(), context.Canceled)
}

func TestFlushAndResponseController(t *testing.T) {
	h := payhook.Middleware(provider(t))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, http.NewResponseController(w).Flush())
		w.(http.Flusher).Flush()
	}))
	w := serve(h, post(webhook("ord_1", "10", "fulfilled")))
	assert.True(t, w.Flushed)
	assert.Equal(t, http.StatusOK, w.Code)
}

func TestNilArgumentsPanic(t *testing.T) {
	assert.PanicsWithValue(t, "payhook: nil Provider", func() { payhook.Middleware[kazawallet.Event](nil) })
	assert.PanicsWithValue(t, "payhook: nil handler func", func() { payhook.Handle[kazawallet.Event](provider(t), nil) })
}

// TestOptionsRefuseUnusableValues (issue 18): an option given a value it
// cannot use makes Middleware and Handle panic with ErrConfig, rather than
// run with the default in its place.
func TestOptionsRefuseUnusableValues(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  payhook.Option
	}{
		{"WithStore(nil)", payhook.WithStore(nil)},
		{"WithMaxBodyBytes(0)", payhook.WithMaxBodyBytes(0)},
		{"WithMaxBodyBytes(-1)", payhook.WithMaxBodyBytes(-1)},
		{"WithLease(0s)", payhook.WithLease(0)},
		{"WithRetention(-1s)", payhook.WithRetention(-time.Second)},
		{"WithLogger(nil)", payhook.WithLogger(nil)},
		{"WithClock(nil)", payhook.WithClock(nil)},
		{"WithInbox(nil)", payhook.WithInbox(nil)},
		{"WithRateLimit(Burst -1", payhook.WithRateLimit(payhook.RateLimit{Rate: 1, Burst: -1})},
		{"WithRateLimit(Burst 0, MaxClients -1)", payhook.WithRateLimit(payhook.RateLimit{Rate: 1, MaxClients: -1})},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, build := range []func(){
				func() { payhook.Middleware(provider(t), tt.opt) },
				func() {
					payhook.Handle(provider(t), func(context.Context, kazawallet.Event) error { return nil }, tt.opt)
				},
			} {
				v := func() (v any) {
					defer func() { v = recover() }()
					build()
					return nil
				}()
				err, ok := v.(error)
				require.True(t, ok, "panics with an error, not %v", v)
				assert.ErrorIs(t, err, payhook.ErrConfig)
				assert.Contains(t, err.Error(), tt.name)
			}
		})
	}
	assert.NotPanics(t, func() {
		payhook.Middleware(provider(t), payhook.WithMaxBodyBytes(1), payhook.WithLease(1), payhook.WithRetention(1),
			payhook.WithRateLimit(payhook.RateLimit{Rate: 1}), payhook.WithObserver(payhook.Observer{}))
	}, "the smallest usable values, and zero for a field whose zero is its default")
}

func TestOverRealHTTP(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(payhook.Middleware(provider(t))(rec))
	defer srv.Close()
	res, err := http.Post(srv.URL, "application/x-www-form-urlencoded",
		strings.NewReader("order_id=ord_9&amount=10.5&status=fulfilled&secret="+
			strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(kazawallet.Sign(apiKey, apiSecret, "10.5", "ord_9"))))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, 1, rec.calls())
	assert.Equal(t, "ord_9", rec.events[0].OrderID)
}

// confirmingProvider confirms its events with an "API" whose answer the
// test sets.
type confirmingProvider struct {
	fakeProvider
	mu      sync.Mutex
	answer  error
	calls   int
	panics  bool
	stamped string
}

func (p *confirmingProvider) Confirm(_ context.Context, e *string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.panics {
		panic("confirm")
	}
	if p.answer == nil {
		*e += p.stamped
	}
	return p.answer
}

func (p *confirmingProvider) set(answer error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.answer = answer
}

func TestConfirmerRunsAfterTheClaim(t *testing.T) {
	p := &confirmingProvider{fakeProvider: fakeProvider{key: "tx_1"}, stamped: " (confirmed)"}
	var got []string
	h := payhook.Handle[string](p, func(ctx context.Context, e string) error {
		got = append(got, e)
		return nil
	})

	p.set(fmt.Errorf("fake: %w: api down", payhook.ErrUnavailable))
	assert.Equal(t, http.StatusServiceUnavailable, serve(h, post("{}")).Code)
	p.set(fmt.Errorf("fake: %w: api says FAILED", payhook.ErrInvalidSignature))
	assert.Equal(t, http.StatusUnauthorized, serve(h, post("{}")).Code)
	assert.Empty(t, got, "an unconfirmed event never reaches the handler")

	p.set(nil)
	assert.Equal(t, http.StatusOK, serve(h, post("{}")).Code, "each failed confirmation released the claim")
	assert.Equal(t, []string{"event (confirmed)"}, got, "Confirm completes the event")
	assert.Equal(t, 3, p.calls)

	p.set(fmt.Errorf("fake: %w: api down", payhook.ErrUnavailable))
	w := serve(h, post("{}"))
	assert.Equal(t, http.StatusOK, w.Code, "a duplicate of a done event is acknowledged even while the API is down")
	assert.Equal(t, "already processed\n", w.Body.String())
	assert.Equal(t, 3, p.calls, "without asking the API")
}

// TestConfirmationRefusedLogSaysTheAnswer (issue 20, trap 7): a webhook
// the provider's API does not confirm is answered 401, and the log of its
// released key says so, where it used to say "event released for retry"
// beside a 401 that reads as final.
func TestConfirmationRefusedLogSaysTheAnswer(t *testing.T) {
	for _, tt := range []struct {
		answer error
		status int
	}{
		{fmt.Errorf("fake: %w: transaction not found", payhook.ErrInvalidSignature), http.StatusUnauthorized},
		{fmt.Errorf("fake: %w: api down", payhook.ErrUnavailable), http.StatusServiceUnavailable},
	} {
		p := &confirmingProvider{fakeProvider: fakeProvider{key: "tx_1"}, answer: tt.answer}
		var logs bytes.Buffer
		h := payhook.Handle[string](p, func(context.Context, string) error { return nil },
			payhook.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		assert.Equal(t, tt.status, serve(h, post("{}")).Code)
		assert.Contains(t, logs.String(), fmt.Sprintf(`status=%d`, tt.status))
		assert.Contains(t, logs.String(), fmt.Sprintf(`reason="not confirmed: answered %d"`, tt.status))
		assert.NotContains(t, logs.String(), "released for retry")
	}
}

func TestConfirmerPanicReleases(t *testing.T) {
	p := &confirmingProvider{fakeProvider: fakeProvider{key: "tx_1"}, panics: true}
	store := idempotency.NewMemory()
	h := payhook.Middleware[string](p, payhook.WithStore(store))(http.NotFoundHandler())
	assert.PanicsWithValue(t, "confirm", func() { serve(h, post("{}")) })
	state, err := store.Claim(context.Background(), "fake:tx_1", idempotency.NewToken(), time.Minute)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Acquired, state)
}

// TestLateUseOfWriterAndBody is what echo.WrapMiddleware does: the
// framework writes its answer through the writer it gave payhook's next
// handler after that handler has returned. Neither that nor a late read of
// the body may fail or see another request's data.
func TestLateUseOfWriterAndBody(t *testing.T) {
	var lateW http.ResponseWriter
	var lateBody io.Reader
	h := payhook.Middleware(provider(t))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if lateW == nil {
			lateW, lateBody = w, r.Body // the framework keeps them, writes nothing now
		}
	}))
	first := webhook("ord_late", "10", "fulfilled")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, post(first))
	serve(h, post(webhook("ord_other", "99", "fulfilled"))) // reuses whatever is pooled

	assert.NotPanics(t, func() {
		lateW.WriteHeader(http.StatusInternalServerError)
		io.WriteString(lateW, "late")
	})
	assert.Equal(t, http.StatusInternalServerError, w.Code, "the late answer reached the client")
	b, err := io.ReadAll(lateBody)
	require.NoError(t, err)
	assert.Equal(t, first, string(b), "a late read sees this request's body")
}

// TestContentLengthIsNotTrustedForMemory: a client that announces a body as
// large as the cap but sends a few bytes (or none, holding the connection)
// must not make the middleware allocate the announced size: memory follows
// the bytes received, so headers alone cannot pin the cap per connection.
func TestContentLengthIsNotTrustedForMemory(t *testing.T) {
	const announced = 32 << 20
	h := payhook.Middleware(provider(t), payhook.WithMaxBodyBytes(announced))(&recorder{})
	r := post(`{"order_id":"o"}`)
	r.ContentLength = announced // a lie: the body is 16 bytes
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	w := serve(h, r)
	runtime.ReadMemStats(&after)
	assert.Equal(t, http.StatusBadRequest, w.Code, "no amount")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated for a 16-byte body")
}
