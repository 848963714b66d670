package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/internal/secret"
)

// TestMetricsOnTheAdminListenerOnly (issue 17, §2): /metrics and pprof are
// the operator's, on the admin listener; the public listener serves the
// webhooks and /healthz only.
func TestMetricsOnTheAdminListenerOnly(t *testing.T) {
	vars := map[string]string{"PAYHOOK_PPROF": "on"}
	for k, v := range kazawalletEnv {
		vars[k] = v
	}
	srv := startServeAll(t, vars)
	for path, want := range map[string]int{"/metrics": 404, "/debug/pprof/": 404, "/healthz": 200} {
		code, _ := get(t, srv.base+path)
		assert.Equal(t, want, code, "public %s", path)
	}
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap?debug=1"} {
		code, _ := get(t, srv.admin+path)
		assert.Equal(t, http.StatusOK, code, "admin %s", path)
	}
	code, _ := get(t, srv.admin+"/webhooks/kazawallet")
	assert.Equal(t, http.StatusNotFound, code, "no webhook on the admin listener")

	delete(vars, "PAYHOOK_PPROF")
	srv = startServeAll(t, vars)
	code, _ = get(t, srv.admin+"/debug/pprof/")
	assert.Equal(t, http.StatusNotFound, code, "pprof is off by default")

	vars["PAYHOOK_ADMIN_ADDR"] = "off"
	srv = startServeAll(t, vars)
	assert.Empty(t, srv.admin, "no admin listener")
	code, _ = get(t, srv.base+"/metrics")
	assert.Equal(t, http.StatusNotFound, code)
}

// TestAdminBeyondLoopbackNeedsToken (issue 17, §2): an admin listener on
// every interface without PAYHOOK_ADMIN_TOKEN is a configuration error;
// with one, every request must carry it.
func TestAdminBeyondLoopbackNeedsToken(t *testing.T) {
	vars := map[string]string{"PAYHOOK_ADMIN_ADDR": "0.0.0.0:0", "PAYHOOK_ADDR": "127.0.0.1:0", "PAYHOOK_STORE": "memory"}
	for k, v := range kazawalletEnv {
		vars[k] = v
	}
	err := serveEnv(context.Background(), nil, env(vars), io.Discard, io.Discard, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PAYHOOK_ADMIN_ADDR=0.0.0.0:0 is not a loopback address: set PAYHOOK_ADMIN_TOKEN")
	for _, addr := range []string{":9090", "[::]:9090", "192.0.2.1:9090", "admin.internal:9090"} {
		cfg, err := loadConfig(env(map[string]string{"PAYHOOK_ADMIN_ADDR": addr}))
		require.NoError(t, err)
		assert.ErrorContains(t, cfg.checkServe(), "PAYHOOK_ADMIN_TOKEN", addr)
	}
	for _, addr := range []string{"127.0.0.1:9090", "[::1]:9090", "localhost:9090", "127.0.0.2:0"} {
		cfg, err := loadConfig(env(map[string]string{"PAYHOOK_ADMIN_ADDR": addr}))
		require.NoError(t, err)
		assert.NoError(t, cfg.checkServe(), addr)
	}
	_, err = loadConfig(env(map[string]string{"PAYHOOK_ADMIN_TOKEN": "hunter2"}))
	assert.ErrorContains(t, err, "PAYHOOK_ADMIN_TOKEN: want at least 16 characters")
	assert.NotContains(t, err.Error(), "hunter2")

	const token = "0123456789abcdef0123456789abcdef"
	vars["PAYHOOK_ADMIN_TOKEN"] = token
	srv := startServeAll(t, vars)
	_, port, err := net.SplitHostPort(strings.TrimPrefix(srv.admin, "http://"))
	require.NoError(t, err)
	admin := "http://127.0.0.1:" + port
	for _, tt := range []struct {
		name, auth string
		want       int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"another token", "Bearer 0123456789abcdef0123456789abcdeX", http.StatusUnauthorized},
		{"a prefix of it", "Bearer 0123456789abcdef", http.StatusUnauthorized},
		{"not a bearer", "Basic " + token, http.StatusUnauthorized},
		{"the token", "Bearer " + token, http.StatusOK},
	} {
		r, err := http.NewRequest(http.MethodGet, admin+"/metrics", nil)
		require.NoError(t, err)
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		res, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		assert.Equal(t, tt.want, res.StatusCode, tt.name)
		if tt.want == http.StatusUnauthorized {
			assert.NotContains(t, string(body), "payhook_webhooks_total", tt.name)
			assert.Equal(t, `Bearer realm="payhook admin"`, res.Header.Get("WWW-Authenticate"))
		}
	}
	assert.NotContains(t, srv.stderr.String(), token)
}

// TestAdminAddressTaken: the admin listener's address taken (Prometheus
// listens on 9090 too) fails the start, and says which variable to change.
func TestAdminAddressTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	vars := map[string]string{"PAYHOOK_ADMIN_ADDR": ln.Addr().String(), "PAYHOOK_ADDR": "127.0.0.1:0", "PAYHOOK_STORE": "memory"}
	for k, v := range kazawalletEnv {
		vars[k] = v
	}
	err = serveEnv(context.Background(), nil, env(vars), io.Discard, io.Discard, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PAYHOOK_ADMIN_ADDR="+ln.Addr().String())
	assert.Contains(t, err.Error(), "address already in use")
}

// countingBackend counts the Stats calls of a memory inbox, and how many
// run at once.
type countingBackend struct {
	inbox.Backend
	calls, running, most atomic.Int32
	entered, release     chan struct{} // when not nil, Stats says it began, and waits for release
}

func (b *countingBackend) Stats(ctx context.Context) ([]inbox.Stat, error) {
	b.calls.Add(1)
	n := b.running.Add(1)
	defer b.running.Add(-1)
	for {
		m := b.most.Load()
		if n <= m || b.most.CompareAndSwap(m, n) {
			break
		}
	}
	if b.release != nil {
		b.entered <- struct{}{}
		<-b.release
	}
	return b.Backend.Stats(ctx)
}

// TestInboxStatsCached (issue 17, §2): however often /metrics is scraped,
// the inbox's counts (a GROUP BY over its table) are read at most once
// every statsEvery, one read at a time.
func TestInboxStatsCached(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	b := &countingBackend{Backend: inbox.NewMemory(), entered: make(chan struct{}, 50), release: make(chan struct{})}
	c := newStatsCache(b, statsEvery, func() time.Time { return now })
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			_, err := c.Stats(context.Background())
			assert.NoError(t, err)
		})
	}
	<-b.entered // the first scrape reads, the others wait for it
	close(b.release)
	wg.Wait()
	assert.EqualValues(t, 1, b.calls.Load(), "50 scrapes at once, one read")
	assert.EqualValues(t, 1, b.most.Load(), "one read at a time")

	now = now.Add(statsEvery - time.Nanosecond)
	_, _ = c.Stats(context.Background())
	assert.EqualValues(t, 1, b.calls.Load(), "still fresh")
	now = now.Add(time.Nanosecond)
	_, _ = c.Stats(context.Background())
	assert.EqualValues(t, 2, b.calls.Load(), "read again after statsEvery")
}

// TestAdminLogin: a browser, which cannot send the Bearer header, signs in
// with the token in a form and gets a cookie proving it (an HMAC, never
// the token), HttpOnly and SameSite=Strict; a wrong token is refused 401,
// a login or an action posted by another site 403, and the token is never
// in a response or the log.
func TestAdminLogin(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	vars := map[string]string{"PAYHOOK_ADMIN_ADDR": "0.0.0.0:0", "PAYHOOK_ADMIN_TOKEN": token}
	for k, v := range kazawalletEnv {
		vars[k] = v
	}
	srv := startServeAll(t, vars)
	_, port, err := net.SplitHostPort(strings.TrimPrefix(srv.admin, "http://"))
	require.NoError(t, err)
	admin := "http://127.0.0.1:" + port
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var seen strings.Builder // every answer, headers and body
	do := func(method, path string, form url.Values, headers ...string) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		r, err := http.NewRequest(method, admin+path, body)
		require.NoError(t, err)
		if form != nil {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for i := 0; i+1 < len(headers); i += 2 {
			r.Header.Add(headers[i], headers[i+1])
		}
		res, err := client.Do(r)
		require.NoError(t, err)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.NoError(t, res.Header.Write(&seen))
		seen.Write(b)
		return res, string(b)
	}

	res, body := do("GET", "/", nil, "Accept", "text/html")
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	assert.Contains(t, body, `<form method="post" action="login">`, "a browser is offered the form")
	assert.NotContains(t, body, "Operator")

	res, body = do("POST", "/login", url.Values{"token": {token[:31] + "X"}}, "Sec-Fetch-Site", "same-origin")
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "a wrong token")
	assert.Contains(t, body, "That is not the admin token.")
	assert.Empty(t, res.Cookies())
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'", "the form is framed by no site")

	for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "http://evil.example"}} {
		res, _ = do("POST", "/login", url.Values{"token": {token}}, h...)
		assert.Equal(t, http.StatusForbidden, res.StatusCode, "a login posted by another site: %v", h)
		assert.Empty(t, res.Cookies(), h)
	}

	res, _ = do("POST", "/login", url.Values{"token": {token}}, "Sec-Fetch-Site", "same-origin")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "./", res.Header.Get("Location"))
	require.Len(t, res.Cookies(), 1)
	c := res.Cookies()[0]
	assert.Equal(t, "payhook_admin", c.Name)
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, c.SameSite)
	assert.False(t, c.Secure, "plain HTTP: a Secure cookie would never come back")
	assert.Equal(t, "/", c.Path)
	assert.Equal(t, int(adminSession/time.Second), c.MaxAge)
	cookie := c.Name + "=" + c.Value

	res, _ = do("POST", "/login", url.Values{"token": {token}}, "Sec-Fetch-Site", "same-origin", "X-Forwarded-Proto", "https")
	require.Len(t, res.Cookies(), 1)
	assert.True(t, res.Cookies()[0].Secure, "behind an HTTPS proxy")

	res, body = do("GET", "/", nil, "Cookie", cookie)
	assert.Equal(t, http.StatusOK, res.StatusCode, "the cookie works")
	assert.Contains(t, body, "Operator")
	res, body = do("GET", "/metrics", nil, "Cookie", cookie)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "payhook_")

	last := "0"
	if strings.HasSuffix(c.Value, last) {
		last = "1"
	}
	res, _ = do("GET", "/", nil, "Cookie", c.Name+"="+c.Value[:len(c.Value)-1]+last)
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "a cookie altered")
	exp, _, _ := strings.Cut(c.Value, ".")
	res, _ = do("GET", "/", nil, "Cookie", c.Name+"=9"+exp+c.Value[len(exp):])
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "a cookie whose expiry is pushed back")
	res, _ = do("GET", "/", nil, "Cookie", cookie, "Authorization", "Bearer nope-nope-nope-nope")
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "a wrong Bearer header is not saved by a cookie")

	// A form of another site: the browser leaves the Strict cookie out
	// (401); even with it, the page refuses the post (403).
	res, _ = do("POST", "/replay", url.Values{"id": {"kazawallet:x"}}, "Sec-Fetch-Site", "cross-site")
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	res, _ = do("POST", "/replay", url.Values{"id": {"kazawallet:x"}}, "Sec-Fetch-Site", "cross-site", "Cookie", cookie)
	assert.Equal(t, http.StatusForbidden, res.StatusCode)

	res, _ = do("POST", "/logout", nil, "Sec-Fetch-Site", "cross-site", "Cookie", cookie)
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "a logout posted by another site")
	res, body = do("GET", "/logout", nil, "Cookie", cookie)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `action="logout"`)
	res, _ = do("POST", "/logout", url.Values{}, "Sec-Fetch-Site", "same-origin", "Cookie", cookie)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	require.Len(t, res.Cookies(), 1)
	assert.Equal(t, -1, res.Cookies()[0].MaxAge, "the cookie removed")
	assert.Empty(t, res.Cookies()[0].Value)

	assert.NotContains(t, cookie, token)
	assert.NotContains(t, seen.String(), token, "the token is never in an answer")
	assert.NotContains(t, srv.stderr.String(), token, "nor in the log")
	assert.NotContains(t, srv.stdout.String(), token)
}

// TestAdminCookieExpires: a login's cookie is refused once adminSession
// has passed, and a cookie of another token is refused.
func TestAdminCookieExpires(t *testing.T) {
	now := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	a := newAdminAuth(secret.New("0123456789abcdef0123456789abcdef"), func() time.Time { return now })
	value := a.sign(now.Add(adminSession).Unix())
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: adminCookie, Value: value})
	assert.True(t, a.allowed(r))
	now = now.Add(adminSession - time.Second)
	assert.True(t, a.allowed(r), "a second before its end")
	now = now.Add(time.Second)
	assert.False(t, a.allowed(r), "expired")
	other := newAdminAuth(secret.New("fedcba9876543210fedcba9876543210"), func() time.Time { return now.Add(-time.Hour) })
	assert.False(t, other.allowed(r), "another token's cookie")
}

// TestAdminGuessesBounded: once adminGuessBurst wrong tokens came, no
// token is checked, the right one included, until the bound refills (a
// second a guess); a right token is never charged. The scheme is matched
// whatever its case (RFC 9110).
func TestAdminGuessesBounded(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	now := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	a := newAdminAuth(secret.New(token), func() time.Time { return now })
	bearer := func(scheme, v string) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", scheme+" "+v)
		return r
	}
	for range 3 * adminGuessBurst {
		require.True(t, a.allowed(bearer("Bearer", token)), "a right token is not charged")
	}
	assert.True(t, a.allowed(bearer("bearer", token)), "the scheme's case does not matter")
	for i := range adminGuessBurst {
		ok, checked := a.check("wrong" + strings.Repeat("x", i))
		require.True(t, checked, "guess %d", i)
		require.False(t, ok)
	}
	ok, checked := a.check(token)
	assert.False(t, checked, "over the bound, nothing is checked")
	assert.False(t, ok)
	assert.False(t, a.allowed(bearer("Bearer", token)))

	// The login form answers 429, with Retry-After, without checking.
	form := httptest.NewRequest("POST", "/login", strings.NewReader("token="+token))
	form.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	a.loginMux().ServeHTTP(w, form)
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.NotEmpty(t, w.Header().Get("Retry-After"))
	assert.Empty(t, w.Result().Cookies(), "no login over the bound")

	now = now.Add(time.Second)
	assert.True(t, a.allowed(bearer("Bearer", token)), "a second later, one check again")
}
