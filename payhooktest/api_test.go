package payhooktest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/internal/providertest"
	"github.com/payhook/payhook/payhooktest"
)

// newThingsAPI is a fake API of a made-up provider: /things/{id}
// answers a string Payload as 200 text, NotFound as 404 "no such thing";
// other paths get the HTML 404 page.
func newThingsAPI(tb testing.TB) *payhooktest.API {
	return payhooktest.NewAPI(tb, func(r *http.Request, _ []byte) payhooktest.Route {
		id, ok := strings.CutPrefix(r.URL.Path, "/things/")
		if !ok {
			rt := payhooktest.Route{}
			rt.Status, rt.Body = providertest.NotFoundPage(r)
			return rt
		}
		return payhooktest.Route{ID: id, OK: true}
	}, func(w http.ResponseWriter, _ *http.Request, _ string, _ []byte, a payhooktest.Answer) {
		switch v := a.Payload().(type) {
		case string:
			providertest.WriteBody(w, http.StatusOK, v)
		case nil:
			providertest.WriteBody(w, http.StatusNotFound, "no such thing")
		default:
			providertest.WrongPayload(w, "things", a.Payload())
		}
	})
}

// get calls the fake and returns the answer's status and body; status 0
// when no answer came. It POSTs, which net/http does not retry on a
// closed connection.
func get(ctx context.Context, url string) (int, string) {
	r, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestAPIAnswers(t *testing.T) {
	api := newThingsAPI(t)
	api.Set("a", payhooktest.Payload("thing a"))
	api.Set("gone", payhooktest.NotFound())
	api.Set("down", payhooktest.Down())
	api.Set("teapot", payhooktest.Respond(http.StatusTeapot, `{"short":"and stout"}`))
	api.Set("wrong", payhooktest.Payload(42))
	api.Set("hangup", payhooktest.Hangup())
	for _, tt := range []struct {
		path   string
		status int
		body   string
	}{
		{"/things/a", 200, "thing a"},
		{"/things/gone", 404, "no such thing"},
		{"/things/unset", 404, "no such thing"},
		{"/things/down", 500, "Internal Server Error\n"},
		{"/things/teapot", 418, `{"short":"and stout"}`},
		{"/things/wrong", 500, "payhooktest: the things fake cannot answer with a int\n"},
		{"/elsewhere", 404, "<!DOCTYPE html>"},
	} {
		status, body := get(context.Background(), api.URL()+tt.path)
		assert.Equal(t, tt.status, status, tt.path)
		assert.True(t, strings.HasPrefix(body, tt.body), "%s: %q", tt.path, body)
	}
	status, _ := get(context.Background(), api.URL()+"/things/hangup")
	assert.Zero(t, status, "no answer")
	calls := api.Calls()
	require.GreaterOrEqual(t, len(calls), 8)
	assert.Equal(t, "a", calls[0].ID)
	assert.Equal(t, "/things/a", calls[0].Path)
	assert.Equal(t, http.MethodPost, calls[0].Method)
	assert.Equal(t, "", calls[6].ID, "an unknown path has no id")
}

func TestAPIDefaults(t *testing.T) {
	api := newThingsAPI(t)
	api.SetDefault(payhooktest.Down())
	status, _ := get(context.Background(), api.URL()+"/things/any")
	assert.Equal(t, 500, status, "the default answers ids without their own")

	api.Set("a", payhooktest.Payload("thing a"))
	status, _ = get(context.Background(), api.URL()+"/things/a")
	assert.Equal(t, 200, status, "an id's own answer wins over the default")

	api.Set("a", payhooktest.Answer{})
	status, _ = get(context.Background(), api.URL()+"/things/a")
	assert.Equal(t, 500, status, "the zero Answer undoes Set")

	api.SetDefault(payhooktest.Answer{})
	api.Set("late", payhooktest.Slow(20*time.Millisecond, payhooktest.Answer{}))
	start := time.Now()
	status, _ = get(context.Background(), api.URL()+"/things/late")
	assert.Equal(t, 404, status, "Slow of the zero Answer delays the fake's own answer")
	assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
}

func TestAPISlowHonoursCancellation(t *testing.T) {
	api := newThingsAPI(t)
	api.Set("a", payhooktest.Slow(time.Hour, payhooktest.Payload("thing a")))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	status, _ := get(ctx, api.URL()+"/things/a")
	assert.Zero(t, status, "the caller gave up; the fake did not hold it for an hour")
}

func TestAPIConcurrentUse(t *testing.T) {
	api := newThingsAPI(t)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("t%d", i)
			api.Set(id, payhooktest.Payload(id))
			status, body := get(context.Background(), api.URL()+"/things/"+id)
			assert.Equal(t, 200, status)
			assert.Equal(t, id, body)
			_ = api.Calls()
		}()
	}
	wg.Wait()
	assert.Len(t, api.Calls(), 20)
}

func TestAPICloseEndsSlowAnswers(t *testing.T) {
	api := newThingsAPI(nil)
	api.SetDefault(payhooktest.Slow(time.Hour, payhooktest.NotFound()))
	done := make(chan int, 1)
	go func() {
		status, _ := get(context.Background(), api.URL()+"/things/a")
		done <- status
	}()
	require.Eventually(t, func() bool { return len(api.Calls()) == 1 }, 10*time.Second, time.Millisecond)
	api.Close()
	select {
	case status := <-done:
		assert.Zero(t, status, "no answer")
	case <-time.After(30 * time.Second):
		t.Fatal("Close left the slow call hanging")
	}
}

func TestGate(t *testing.T) {
	api := newThingsAPI(t)
	api.Set("a", payhooktest.Payload("thing a"))
	gate := payhooktest.NewGate(nil)
	t.Cleanup(gate.Open)
	client := &http.Client{Transport: gate}
	done := make(chan int, 2)
	for range 2 {
		go func() {
			res, err := client.Post(api.URL()+"/things/a", "text/plain", nil)
			if err != nil {
				done <- 0
				return
			}
			res.Body.Close()
			done <- res.StatusCode
		}()
	}
	<-gate.Arrived()
	<-gate.Arrived()
	assert.Empty(t, api.Calls(), "both held at the gate")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, _ := http.NewRequestWithContext(ctx, http.MethodPost, api.URL()+"/things/a", nil)
	_, err := client.Do(r)
	assert.ErrorIs(t, err, context.Canceled, "a request whose context ends does not wait")
	gate.Open()
	assert.Equal(t, 200, <-done)
	assert.Equal(t, 200, <-done)
	assert.Len(t, api.Calls(), 2)
}
