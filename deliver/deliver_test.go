package deliver_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/payhooktest"
)

// answering answers the statuses in turn, then 200, and records the bodies
// it received.
type answering struct {
	mu       sync.Mutex
	statuses []int
	bodies   []string
}

func (a *answering) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.bodies = append(a.bodies, string(b))
	code := http.StatusOK
	if len(a.statuses) > 0 {
		code, a.statuses = a.statuses[0], a.statuses[1:]
	}
	if code == http.StatusConflict {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(code)
	io.WriteString(w, http.StatusText(code))
}

// retrying is KKiaPay's Policy (kkiapay.Sender.Policy): five retries,
// at 500 ms incremental intervals.
var retrying = deliver.Policy{Retries: 5, Interval: 500 * time.Millisecond}

func post(body string) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
	return r
}

func TestSendPolicy(t *testing.T) {
	kkiapay := retrying // as KKiaPay delivers
	tests := []struct {
		name      string
		policy    deliver.Policy
		statuses  []int
		want      []int
		wantWaits []time.Duration
		acked     bool
	}{
		{"once, acknowledged", deliver.Policy{}, nil, []int{200}, []time.Duration{0}, true},
		{"once, refused: never again", deliver.Policy{}, []int{500}, []int{500}, []time.Duration{0}, false},
		{"KKiaPay until 2xx", kkiapay, []int{500, 409, 302}, []int{500, 409, 302, 200}, []time.Duration{0, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond}, true},
		{"KKiaPay gives up after 5 retries", kkiapay, []int{503, 503, 503, 503, 503, 503, 503}, []int{503, 503, 503, 503, 503, 503},
			[]time.Duration{0, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond, 2 * time.Second, 2500 * time.Millisecond}, false},
		{"201 is acknowledged", kkiapay, []int{201}, []int{201}, []time.Duration{0}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &answering{statuses: tt.statuses}
			var slept []time.Duration
			p := tt.policy
			p.Sleep = func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }
			res := deliver.Send(payhooktest.Handler(h), post(`{"n":1}`), p)
			assert.Equal(t, tt.want, res.Statuses())
			assert.Equal(t, tt.acked, res.Acknowledged())
			var waits []time.Duration
			for _, a := range res.Attempts {
				waits = append(waits, a.Wait)
			}
			assert.Equal(t, tt.wantWaits, waits)
			assert.Equal(t, tt.wantWaits[1:], append([]time.Duration{}, slept...), "Sleep waits each retry's interval")
			for _, b := range h.bodies {
				assert.Equal(t, `{"n":1}`, b, "every attempt sends the whole body")
			}
		})
	}
}

func TestSendWithoutSleepDoesNotWait(t *testing.T) {
	h := &answering{statuses: []int{500, 500, 500, 500, 500, 500}}
	start := time.Now()
	res := deliver.Send(payhooktest.Handler(h), post("x"), retrying)
	assert.Len(t, res.Attempts, 6)
	assert.Equal(t, 2500*time.Millisecond, res.Last().Wait, "the wait is reported")
	assert.Less(t, time.Since(start), 7*time.Second, "but not waited (7.5 s in all)")
}

func TestSendClockSleep(t *testing.T) {
	clock := &payhooktest.Clock{}
	start := clock.Now()
	p := retrying
	p.Sleep = clock.Sleep
	res := deliver.Send(payhooktest.Handler(&answering{statuses: []int{500, 500}}), post("x"), p)
	assert.True(t, res.Acknowledged())
	assert.Equal(t, 1500*time.Millisecond, clock.Now().Sub(start), "500 ms + 1 s")
}

func TestSendStops(t *testing.T) {
	t.Run("Sleep fails", func(t *testing.T) {
		p := retrying
		p.Sleep = func(context.Context, time.Duration) error { return context.Canceled }
		res := deliver.Send(payhooktest.Handler(&answering{statuses: []int{500}}), post("x"), p)
		require.Len(t, res.Attempts, 2)
		assert.ErrorIs(t, res.Last().Err, context.Canceled)
		assert.False(t, res.Acknowledged())
	})
	t.Run("context done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res := deliver.Send(payhooktest.Handler(&answering{}), post("x").WithContext(ctx), retrying)
		require.Len(t, res.Attempts, 1)
		assert.ErrorIs(t, res.Last().Err, context.Canceled)
	})
	t.Run("real Sleep honours the context", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		assert.ErrorIs(t, deliver.Sleep(ctx, time.Hour), context.DeadlineExceeded)
		assert.NoError(t, deliver.Sleep(context.Background(), time.Millisecond))
	})
}

func TestSendRequestWithoutGetBody(t *testing.T) {
	h := &answering{statuses: []int{500}}
	r := post("")
	r.Body = io.NopCloser(strings.NewReader("once only"))
	r.GetBody = nil
	res := deliver.Send(payhooktest.Handler(h), r, retrying)
	assert.True(t, res.Acknowledged())
	assert.Equal(t, []string{"once only", "once only"}, h.bodies, "the body is read once and sent again")
}

func TestSendOverTheNetwork(t *testing.T) {
	h := &answering{statuses: []int{http.StatusFound}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	r, err := http.NewRequest(http.MethodPost, srv.URL+"/hook", strings.NewReader("x"))
	require.NoError(t, err)
	res := deliver.Send(http.DefaultTransport, r, retrying)
	assert.Equal(t, []int{302, 200}, res.Statuses(), "a redirect is not followed: KKiaPay retries it")

	srv.Close()
	res = deliver.Send(http.DefaultTransport, r, deliver.Policy{})
	require.Len(t, res.Attempts, 1)
	assert.Error(t, res.Last().Err)
	assert.Contains(t, res.Last().String(), "no answer: ")
}

func TestResultStrings(t *testing.T) {
	res := deliver.Result{Attempts: []deliver.Attempt{
		{Status: 409, RetryAfter: "1", Body: "Conflict\n"},
		{Wait: 500 * time.Millisecond, Err: errors.New("connection reset")},
		{Wait: time.Second, Status: 200, Body: "ok\n"},
	}}
	assert.Equal(t, "attempt 1: 409 Conflict (Retry-After: 1): Conflict\n"+
		"attempt 2 (after 500ms): no answer: connection reset\n"+
		"attempt 3 (after 1s): 200 OK: ok", res.String())
	assert.Equal(t, []int{409, 0, 200}, res.Statuses())
	assert.True(t, res.Acknowledged())
	assert.False(t, deliver.Result{}.Acknowledged())
	assert.Equal(t, deliver.Attempt{}, deliver.Result{}.Last())
}

// TestDeliverURLCredentials: a URL's user and password are sent as basic
// auth, as http.Client and the providers' HTTP clients send them; a
// RoundTripper alone would drop them.
func TestSendURLCredentials(t *testing.T) {
	tests := []struct {
		name, userinfo, header string
		wantUser, wantPassword string
	}{
		{"user and password", "hook:pa%2Fss@", "", "hook", "pa/ss"},
		{"user only", "hook@", "", "hook", ""},
		{"an Authorization header wins", "hook:pass@", "Bearer t", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotAuth, gotUser, gotPassword string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotAuth = r.Header.Get("Authorization")
				gotUser, gotPassword, _ = r.BasicAuth()
			}))
			t.Cleanup(srv.Close)
			r, err := http.NewRequest(http.MethodPost, strings.Replace(srv.URL, "://", "://"+tt.userinfo, 1)+"/hook", strings.NewReader("{}"))
			require.NoError(t, err)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			res := deliver.Send(http.DefaultTransport, r, deliver.Policy{})
			require.True(t, res.Acknowledged(), res.String())
			assert.Equal(t, tt.wantUser, gotUser)
			assert.Equal(t, tt.wantPassword, gotPassword)
			if tt.header != "" {
				assert.Equal(t, tt.header, gotAuth)
			} else {
				assert.Empty(t, r.Header.Get("Authorization"), "r is not changed")
			}
		})
	}
}
