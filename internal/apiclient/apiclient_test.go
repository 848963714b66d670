package apiclient

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
)

func TestDo(t *testing.T) {
	var got *http.Request
	var gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	c := New(srv.URL+"/", nil, map[string]string{"X-Api-Key": "k"}, 0)

	res, err := c.Do(context.Background(), http.MethodPost, "/api/v1/x", map[string]string{"a": "b"})
	require.NoError(t, err, "any answer is not an error")
	assert.Equal(t, http.StatusTeapot, res.Status)
	assert.False(t, res.OK())
	assert.Equal(t, "/api/v1/x", got.URL.Path)
	assert.Equal(t, "k", got.Header.Get("X-Api-Key"))
	assert.Equal(t, "application/json", got.Header.Get("Content-Type"))
	assert.JSONEq(t, `{"a":"b"}`, gotBody)
	var out struct{ OK bool }
	require.NoError(t, Decode(res, &out))
	assert.True(t, out.OK)

	res, err = c.Do(context.Background(), http.MethodGet, "/y", nil)
	require.NoError(t, err)
	assert.Empty(t, got.Header.Get("Content-Type"))
	assert.Empty(t, gotBody)
}

func TestDoUnavailable(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", MaxResponseBytes+10))
	}))
	defer huge.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	tests := []struct {
		name string
		c    *Client
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"timeout", New(slow.URL, &http.Client{Timeout: 50 * time.Millisecond}, map[string]string{"X-Secret": "hunter2"}, 0), nil},
		{"deadline", New(slow.URL, nil, nil, 0), func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}},
		{"connection refused", New(closed.URL, nil, nil, 0), nil},
		{"answer too large", New(huge.URL, nil, nil, 0), nil},
		{"bad URL", New("://nope", nil, nil, 0), nil},
		{"connection refused, password in URL", New(withPassword(closed.URL), nil, nil, 0), nil},
		{"answer too large, password in URL", New(withPassword(huge.URL), nil, nil, 0), nil},
		{"bad URL with password", New("://user:hunter2@nope", nil, nil, 0), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.Background(), func() {}
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			_, err := tt.c.Do(ctx, http.MethodGet, "/", nil)
			assert.ErrorIs(t, err, payhook.ErrUnavailable)
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
}

// withPassword puts a password into a test server's URL.
func withPassword(url string) string {
	return strings.Replace(url, "http://", "http://user:hunter2@", 1)
}

func TestDecodeNotJSON(t *testing.T) {
	var v map[string]any
	err := Decode(Response{Status: 502, Body: []byte("<html>Bad Gateway</html>")}, &v)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "502")
	assert.Contains(t, err.Error(), "Bad Gateway")
	var se *json.SyntaxError
	assert.ErrorAs(t, err, &se)
}

func TestRedirectToAnotherHostKeepsTheKeys(t *testing.T) {
	var leaked atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != "" {
			leaked.Store(true)
		}
	}))
	defer other.Close()
	var hops atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			hops.Add(1)
			http.Redirect(w, r, "/here", http.StatusFound) // the same host: followed
			return
		}
		if r.URL.Path == "/here" {
			io.WriteString(w, `{}`)
			return
		}
		http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	defer api.Close()
	c := New(api.URL, nil, map[string]string{"X-Api-Key": "k"}, 0)

	res, err := c.Do(context.Background(), http.MethodGet, "/moved", nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, res.Status, "a redirect within the API's host is followed")
	assert.EqualValues(t, 1, hops.Load())

	_, err = c.Do(context.Background(), http.MethodPost, "/x", map[string]string{"a": "b"})
	assert.ErrorIs(t, err, payhook.ErrUnavailable)
	assert.ErrorContains(t, err, "refused")
	assert.False(t, leaked.Load(), "the API key reached another host")
}

func TestCheckBase(t *testing.T) {
	for _, tt := range []struct {
		base, want string // want "" for a valid base; otherwise a part of the error
	}{
		{"https://api.kkiapay.me", ""},
		{"http://127.0.0.1:8080/wallet", ""},
		{"https://user:pw@proxy.example/api", ""},
		{"", `base URL ""`},
		{"/api", "absolute http(s) URL"},
		{"ftp://api.example", "absolute http(s) URL"},
		{"https://api.example/?x=1", "without query"},
		{"http://[::1", "absolute http(s) URL"},
		{"htps://user:secretpw@proxy", "not shown: it holds credentials"},
	} {
		t.Run(tt.base, func(t *testing.T) {
			err := CheckBase(tt.base)
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "secretpw")
		})
	}
	assert.Equal(t, "https://user:xxxxx@proxy.example/api", New("https://user:pw@proxy.example/api/", nil, nil, 0).Redacted())
}
