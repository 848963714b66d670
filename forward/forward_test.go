package forward_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/forward"
)

// The example of the Standard Webhooks specification (and of Svix, whose
// scheme it is), so that this signer agrees with every library that
// implements it.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specBody      = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignMatchesTheSpecification(t *testing.T) {
	k, err := forward.ParseKey(specSecret)
	require.NoError(t, err)
	assert.Equal(t, specSignature, k.Sign(specID, time.Unix(specTimestamp, 0), []byte(specBody)))
}

func specHeader() http.Header {
	h := http.Header{}
	h.Set(forward.HeaderID, specID)
	h.Set(forward.HeaderTimestamp, strconv.Itoa(specTimestamp))
	h.Set(forward.HeaderSignature, "v1,bm90IHRoaXMgb25l "+specSignature)
	return h
}

func TestVerify(t *testing.T) {
	k, err := forward.ParseKey(specSecret)
	require.NoError(t, err)
	at := time.Unix(specTimestamp, 0)
	tests := []struct {
		name  string
		edit  func(h http.Header) []byte
		now   time.Time
		valid bool
	}{
		{"genuine, one of two signatures", func(http.Header) []byte { return []byte(specBody) }, at.Add(time.Minute), true},
		{"body changed", func(http.Header) []byte { return []byte(`{"test": 1}`) }, at, false},
		{"id changed", func(h http.Header) []byte { h.Set(forward.HeaderID, "msg_other"); return []byte(specBody) }, at, false},
		{"timestamp changed", func(h http.Header) []byte {
			h.Set(forward.HeaderTimestamp, strconv.Itoa(specTimestamp+1))
			return []byte(specBody)
		}, at, false},
		{"too old", func(http.Header) []byte { return []byte(specBody) }, at.Add(6 * time.Minute), false},
		{"from the future", func(http.Header) []byte { return []byte(specBody) }, at.Add(-6 * time.Minute), false},
		{"no signature", func(h http.Header) []byte { h.Del(forward.HeaderSignature); return []byte(specBody) }, at, false},
		{"v2 only", func(h http.Header) []byte {
			h.Set(forward.HeaderSignature, strings.Replace(specSignature, "v1,", "v2,", 1))
			return []byte(specBody)
		}, at, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := specHeader()
			body := tt.edit(h)
			err := k.Verify(h, body, tt.now, 0)
			if tt.valid {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, forward.ErrSignature)
			assert.NotContains(t, err.Error(), strings.TrimPrefix(specSignature, "v1,"), "the expected signature is never shown")
		})
	}
}

func TestParseKey(t *testing.T) {
	for _, s := range []string{"", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_!!!", "whsec_c2hvcnQ="} {
		_, err := forward.ParseKey(s)
		assert.ErrorIs(t, err, forward.ErrSecret, "%q", s)
	}
	k, err := forward.ParseKey(forward.NewSecret())
	require.NoError(t, err)
	assert.NotEqual(t, forward.NewSecret(), forward.NewSecret())
	var logs strings.Builder
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("key", "k", k)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		assert.Equal(t, "REDACTED", fmt.Sprintf(verb, k), verb)
	}
	assert.Contains(t, logs.String(), `"k":"REDACTED"`)
}

// app is an application receiving forwarded events; it answers with the
// statuses given, then 200.
func app(t *testing.T, statuses ...int) (*httptest.Server, <-chan *http.Request, <-chan []byte) {
	reqs, bodies := make(chan *http.Request, 16), make(chan []byte, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		reqs <- r
		bodies <- b
		code := http.StatusOK
		if len(statuses) > 0 {
			code, statuses = statuses[0], statuses[1:]
		}
		if code >= 300 && code < 400 {
			http.Redirect(w, r, "/elsewhere", code)
			return
		}
		http.Error(w, http.StatusText(code)+" from the app", code)
	}))
	t.Cleanup(srv.Close)
	return srv, reqs, bodies
}

func TestSendSignsAndReportsTheAnswer(t *testing.T) {
	srv, reqs, bodies := app(t, http.StatusInternalServerError, http.StatusFound)
	secret := forward.NewSecret()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	f, err := forward.New(srv.URL+"/hooks", secret, forward.WithClock(func() time.Time { return now }))
	require.NoError(t, err)
	body := []byte(`{"provider":"kazawallet","key":"ord_1","event":{}}`)

	err = f.Send(context.Background(), "kazawallet:ord_1", body)
	var se *forward.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 500, se.Code)
	assert.Contains(t, se.Body, "from the app")
	<-reqs
	<-bodies

	err = f.Send(context.Background(), "kazawallet:ord_1", body)
	require.ErrorAs(t, err, &se, "a redirect is not a delivery")
	assert.Equal(t, http.StatusFound, se.Code)
	<-reqs
	<-bodies

	require.NoError(t, f.Send(context.Background(), "kazawallet:ord_1", body))
	r, got := <-reqs, <-bodies
	assert.Equal(t, body, got)
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.Equal(t, "kazawallet:ord_1", r.Header.Get(forward.HeaderID), "the id is the event's, the same on every attempt")
	k, _ := forward.ParseKey(secret)
	assert.NoError(t, k.Verify(r.Header, got, now, 0))
}

func TestSendFailures(t *testing.T) {
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hang); slow.Close() })
	f, err := forward.New(slow.URL, forward.NewSecret(), forward.WithTimeout(50*time.Millisecond))
	require.NoError(t, err)
	assert.ErrorIs(t, f.Send(context.Background(), "id", []byte(`{}`)), context.DeadlineExceeded)

	closed := httptest.NewServer(http.NotFoundHandler())
	u := strings.Replace(closed.URL, "http://", "http://user:hunter2@", 1)
	closed.Close()
	f, err = forward.New(u, forward.NewSecret())
	require.NoError(t, err)
	err = f.Send(context.Background(), "id", []byte(`{}`))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2")
	assert.NotContains(t, fmt.Sprint(f), "hunter2")
	var se *forward.StatusError
	assert.False(t, errors.As(err, &se))
}

func TestNewRefusesWhatCannotWork(t *testing.T) {
	_, err := forward.New("http://app.example/hooks", "")
	assert.ErrorIs(t, err, forward.ErrSecret, "an empty secret is an error, never unsigned")
	_, err = forward.New("app.example/hooks", forward.NewSecret())
	assert.Error(t, err)
	_, err = forward.New("ftp://app.example/hooks", forward.NewSecret())
	assert.Error(t, err)
}

// Eight senders at once, as an inbox's workers send, keep their eight
// connections for the next events instead of dialing again (net/http's
// default keeps two idle connections a host).
func TestSendReusesConnections(t *testing.T) {
	var dials atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // so that the eight overlap
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dials.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	f, err := forward.New(srv.URL, forward.NewSecret())
	require.NoError(t, err)
	round := func() {
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				assert.NoError(t, f.Send(context.Background(), "e"+strconv.Itoa(i), []byte(`{}`)))
			}()
		}
		wg.Wait()
	}
	round()
	first := dials.Load()
	require.LessOrEqual(t, first, int32(8))
	for range 3 {
		round()
	}
	assert.Equal(t, first, dials.Load(), "no connection dialed after the first round")
}

// TestSendHidesQueryValues (issue 17, §5): a token in the URL's query is
// printed nowhere: not by the forwarder, not in its log value, not in the
// error of a request that failed (which the inbox keeps).
func TestSendHidesQueryValues(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	u := closed.URL + "/hooks?token=hunter2&plain&team=payments"
	closed.Close()
	f, err := forward.New(u, forward.NewSecret())
	require.NoError(t, err)
	err = f.Send(context.Background(), "id", []byte(`{}`))
	require.Error(t, err)
	var log strings.Builder
	slog.New(slog.NewTextHandler(&log, nil)).Info("forwarding", "forward", f)
	for _, s := range []string{err.Error(), fmt.Sprint(f), fmt.Sprintf("%+v", f), log.String()} {
		assert.NotContains(t, s, "hunter2")
		assert.NotContains(t, s, "plain")
		assert.Contains(t, s, "/hooks?token=xxxxx&xxxxx&team=xxxxx", "the keys stay, to tell the URL")
	}
}

func TestRedact(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://app.example/hooks", "https://app.example/hooks"},
		{"https://u:pw@app.example/hooks?token=abc", "https://u:xxxxx@app.example/hooks?token=xxxxx"},
		{"https://app.example/hooks?abc", "https://app.example/hooks?xxxxx"},
		{"https://app.example/hooks?a=1&b=&c", "https://app.example/hooks?a=xxxxx&b=xxxxx&xxxxx"},
		{"https://app.example/hooks#frag", "https://app.example/hooks"},
	} {
		u, err := url.Parse(tt.in)
		require.NoError(t, err)
		assert.Equal(t, tt.want, forward.Redact(u), tt.in)
	}
}

// TestSendPermanent (issue 17, §5): 410 Gone refuses the event for good,
// and so does a request that cannot be sent; every other failure is worth
// a retry.
func TestSendPermanent(t *testing.T) {
	var status atomic.Int32
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
	}))
	t.Cleanup(app.Close)
	f, err := forward.New(app.URL, forward.NewSecret())
	require.NoError(t, err)
	for _, tt := range []struct {
		code      int
		permanent bool
	}{
		{http.StatusGone, true},
		{http.StatusBadRequest, false},
		{http.StatusNotFound, false},
		{http.StatusUnprocessableEntity, false},
		{http.StatusInternalServerError, false},
		{http.StatusServiceUnavailable, false},
	} {
		status.Store(int32(tt.code))
		err := f.Send(context.Background(), "kazawallet:ord_1", []byte(`{}`))
		require.Error(t, err)
		assert.Equal(t, tt.permanent, forward.IsPermanent(err), "%d", tt.code)
	}

	for _, id := range []string{"kkiapay:tx\r\nX-Injected: 1", "kkiapay:tx\x00", "kkiapay:tx\x7f"} {
		err = f.Send(context.Background(), id, []byte(`{}`))
		assert.ErrorIs(t, err, forward.ErrRequest)
		assert.True(t, forward.IsPermanent(err))
	}
	status.Store(http.StatusOK)
	assert.NoError(t, f.Send(context.Background(), "kkiapay:tx\twith a tab", []byte(`{}`)), "a tab is a header's character")

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	f, err = forward.New(closed.URL, forward.NewSecret())
	require.NoError(t, err)
	assert.False(t, forward.IsPermanent(f.Send(context.Background(), "id", []byte(`{}`))), "a refused connection is retried")
}
