package payhooktest_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/payhooktest"
)

// retrying is KKiaPay's Policy (kkiapay.Sender.Policy): five retries,
// at 500 ms incremental intervals.
var retrying = deliver.Policy{Retries: 5, Interval: 500 * time.Millisecond}

func post(body string) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
	return r
}

func TestHandlerPanics(t *testing.T) {
	var calls atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			panic("boom")
		}
	})
	res := deliver.Send(payhooktest.Handler(h), post("x"), retrying)
	require.Len(t, res.Attempts, 2, "a panic is no answer: KKiaPay tries again")
	assert.ErrorContains(t, res.Attempts[0].Err, "handler panicked: boom")
	assert.Equal(t, 0, res.Attempts[0].Status)
	assert.True(t, res.Acknowledged())
}

func TestHandlerRequest(t *testing.T) {
	var got *http.Request
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r })
	r, err := http.NewRequest(http.MethodPost, "/webhooks/x?a=1", strings.NewReader("x"))
	require.NoError(t, err)
	res := deliver.Send(payhooktest.Handler(h), r, deliver.Policy{})
	require.True(t, res.Acknowledged())
	assert.Equal(t, "/webhooks/x?a=1", got.RequestURI)
	assert.Equal(t, "192.0.2.1:1234", got.RemoteAddr)
	assert.Equal(t, "example.com", got.Host)
}

func TestDeliverN(t *testing.T) {
	var inFlight, most atomic.Int32
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		<-release
		io.WriteString(w, "ok")
	})
	go func() {
		for most.Load() < 5 {
			time.Sleep(time.Millisecond)
		}
		close(release)
	}()
	results := payhooktest.DeliverN(payhooktest.Handler(h), post("x"), deliver.Policy{}, 5)
	require.Len(t, results, 5)
	for _, r := range results {
		assert.True(t, r.Acknowledged())
	}
	assert.EqualValues(t, 5, most.Load(), "the copies are in flight at once")
}

// TestDeliverNRequestWithoutGetBody: every copy sends the whole body of a
// request that cannot be read twice.
func TestDeliverNRequestWithoutGetBody(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		bodies = append(bodies, string(b))
	})
	r := post("")
	r.Body, r.GetBody = io.NopCloser(strings.NewReader("once only")), nil
	for _, res := range payhooktest.DeliverN(payhooktest.Handler(h), r, deliver.Policy{}, 3) {
		assert.True(t, res.Acknowledged())
	}
	assert.Equal(t, []string{"once only", "once only", "once only"}, bodies)
}
