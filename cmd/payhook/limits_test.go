package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProxiesClient(t *testing.T) {
	trusted, err := parseProxies("127.0.0.1, 10.0.0.0/8 ,::1")
	require.NoError(t, err)
	for _, tt := range []struct {
		name, peer string
		xff        []string
		proxies    proxies
		want       string
	}{
		{"no proxy trusted: the peer", "10.1.1.1:5000", []string{"203.0.113.7"}, nil, "10.1.1.1"},
		{"an untrusted peer's header is ignored", "198.51.100.2:5000", []string{"203.0.113.7"}, trusted, "198.51.100.2"},
		{"behind one proxy", "127.0.0.1:5000", []string{"203.0.113.7"}, trusted, "203.0.113.7"},
		{"behind two proxies", "127.0.0.1:5000", []string{"203.0.113.7, 10.0.0.5"}, trusted, "203.0.113.7"},
		{"a client's own X-Forwarded-For is not believed", "127.0.0.1:5000", []string{"6.6.6.6, 203.0.113.7"}, trusted, "203.0.113.7"},
		{"several headers are one list", "127.0.0.1:5000", []string{"6.6.6.6", "203.0.113.7, 10.0.0.5"}, trusted, "203.0.113.7"},
		{"every hop trusted: the first", "127.0.0.1:5000", []string{"10.0.0.9, 10.0.0.5"}, trusted, "10.0.0.9"},
		{"no header: the proxy", "127.0.0.1:5000", nil, trusted, "127.0.0.1"},
		{"garbage: the hop that wrote it", "127.0.0.1:5000", []string{"203.0.113.7, nonsense, 10.0.0.5"}, trusted, "10.0.0.5"},
		{"a port after the address", "127.0.0.1:5000", []string{"203.0.113.7:4711"}, trusted, "203.0.113.7"},
		{"IPv6 by its /64", "[::1]:5000", []string{"2001:db8:1:2:aaaa::1"}, trusted, "2001:db8:1:2::/64"},
		{"IPv4 in IPv6", "[::ffff:127.0.0.1]:5000", []string{"203.0.113.7"}, trusted, "203.0.113.7"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/webhooks/kazawallet", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			assert.Equal(t, tt.want, tt.proxies.client(r))
		})
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.internal", "10.0.0.1,", "*"} {
		_, err := loadConfig(env(map[string]string{"PAYHOOK_TRUSTED_PROXIES": bad}))
		assert.ErrorContains(t, err, "PAYHOOK_TRUSTED_PROXIES", bad)
	}
	ps, err := parseProxies("::ffff:10.0.0.0/104")
	require.NoError(t, err)
	assert.True(t, ps.trusts(netip.MustParseAddr("10.1.2.3")))
}

// TestServeRateLimitBehindProxy (issue 17, §3): behind a trusted proxy,
// each forwarded client has its own bucket: junk from one does not get
// another's genuine webhook answered 429. Without PAYHOOK_TRUSTED_PROXIES,
// X-Forwarded-For is not believed (it would let anyone take a fresh bucket
// per request).
func TestServeRateLimitBehindProxy(t *testing.T) {
	stopClock(t)
	vars := map[string]string{"PAYHOOK_RATE_LIMIT": "2/s", "PAYHOOK_TRUSTED_PROXIES": "127.0.0.0/8"}
	for k, v := range kazawalletEnv {
		vars[k] = v
	}
	base, stdout, _ := startServe(t, vars)
	post := func(client, body string) int {
		r, err := http.NewRequest(http.MethodPost, base+"/webhooks/kazawallet", strings.NewReader(body))
		require.NoError(t, err)
		r.Header.Set("X-Forwarded-For", client)
		res, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	codes := map[int]int{}
	for range 10 {
		codes[post("203.0.113.7", `{"junk":true}`)]++
	}
	assert.Equal(t, map[int]int{http.StatusBadRequest: 2, http.StatusTooManyRequests: 8}, codes, "the junk's client is limited")
	assert.Equal(t, http.StatusOK, post("198.51.100.1", kazawalletWebhook("ord_px", "10.00")), "another client is not")
	assert.Contains(t, stdout.String(), `"key":"ord_px"`)

	delete(vars, "PAYHOOK_TRUSTED_PROXIES")
	base, _, _ = startServe(t, vars)
	for i := range 2 {
		assert.Equal(t, http.StatusBadRequest, post(fmt.Sprintf("203.0.113.%d", i), `{"junk":true}`))
	}
	assert.Equal(t, http.StatusTooManyRequests, post("203.0.113.99", `{"junk":true}`), "an untrusted X-Forwarded-For is no new client")
}

// drip opens a connection to addr and sends the start of a webhook whose
// body never comes: its headers (claiming a body of 100 kB), from client
// (X-Forwarded-For), and one byte of the body.
func drip(t *testing.T, addr, client string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	_, err = fmt.Fprintf(c, "POST /webhooks/kazawallet HTTP/1.1\r\nHost: payhook\r\nContent-Type: application/json\r\n"+
		"X-Forwarded-For: %s\r\nContent-Length: 100000\r\n\r\n{", client)
	require.NoError(t, err)
	return c
}

// TestServeSlowBodies (issue 17, §4): many connections from one client,
// each sending its body a byte at a time, hold at most the client's share
// of requests: the others are answered 429 at once, without their body
// being read, and a genuine webhook from another client is processed.
func TestServeSlowBodies(t *testing.T) {
	vars := map[string]string{"PAYHOOK_TRUSTED_PROXIES": "127.0.0.1", "PAYHOOK_RATE_LIMIT": "off"}
	for k, v := range kazawalletEnv {
		vars[k] = v
	}
	srv := startServeAll(t, vars, func(c *config) {
		c.limits = limits{clientRequests: 4, requests: 16, peerConns: 8, conns: 200, read: time.Hour} // read: never within the test
	})
	addr := strings.TrimPrefix(srv.base, "http://")

	const slow = 60
	answers := make(chan string, slow)
	for range slow {
		c := drip(t, addr, "203.0.113.7")
		go func() {
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				answers <- err.Error()
				return
			}
			res.Body.Close()
			answers <- fmt.Sprintf("%d %s", res.StatusCode, res.Header.Get("Retry-After"))
		}()
	}
	for range slow - 4 {
		assert.Equal(t, "429 1", <-answers, "over the client's share: 429 with Retry-After, at once")
	}
	metrics := scrape(t, srv.admin)
	assert.Equal(t, "4", sample(metrics, "payhook_serve_requests_in_flight"), "four requests admitted, holding their bodies")
	assert.Equal(t, fmt.Sprint(slow-4), sample(metrics, `payhook_serve_refused_total{limit="client_requests"}`))
	assert.Equal(t, "0", sample(metrics, `payhook_serve_refused_total{limit="peer_connections"}`), "a trusted proxy has no cap of connections")

	r, err := http.NewRequest(http.MethodPost, srv.base+"/webhooks/kazawallet", strings.NewReader(kazawalletWebhook("ord_slow", "10.00")))
	require.NoError(t, err)
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	res, err := http.DefaultClient.Do(r)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode, "a genuine webhook from another client gets through")
	assert.Contains(t, srv.stdout.String(), `"key":"ord_slow"`)

	// Over every client's share together: 503. Of 13 requests for the 12
	// slots left, one is answered, whichever comes last.
	last := make(chan string, 13)
	for i := range 13 {
		c := drip(t, addr, fmt.Sprintf("198.51.100.%d", 10+i/4))
		go func() {
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				last <- err.Error()
				return
			}
			res.Body.Close()
			last <- fmt.Sprintf("%d %s", res.StatusCode, res.Header.Get("Retry-After"))
		}()
	}
	assert.Equal(t, "503 1", <-last, "every slot taken")
	assert.Equal(t, "1", sample(scrape(t, srv.admin), `payhook_serve_refused_total{limit="requests"}`))
}

// TestAdmissionOneClientNeverTakesAll (security review): with the rate
// limit off, one client is answered 429 beyond its own cap, and another
// client's webhook still gets a slot rather than 503.
func TestAdmissionOneClientNeverTakesAll(t *testing.T) {
	for _, burst := range []int{0, 256, 1000} {
		adm := newAdmission(defaultLimits.withRateLimit(burst), nil, &limitStats{})
		held := 0
		for adm.enter("attacker") == 0 {
			held++
		}
		assert.Less(t, held, defaultLimits.requests, "burst %d", burst)
		assert.Equal(t, http.StatusTooManyRequests, adm.enter("attacker"), "burst %d", burst)
		assert.Equal(t, 0, adm.enter("provider"), "burst %d: another client is served", burst)
	}
}

// TestServeCapsConnectionsPerPeer (issue 17, §4): without a proxy, one
// address holds at most its share of connections, even idle ones; beyond
// it a connection is closed as it is accepted, and another address (here
// 127.0.0.2, which Linux routes to loopback) is served.
func TestServeCapsConnectionsPerPeer(t *testing.T) {
	vars := map[string]string{"PAYHOOK_RATE_LIMIT": "off"}
	for k, v := range kazawalletEnv {
		vars[k] = v
	}
	srv := startServeAll(t, vars, func(c *config) {
		c.limits = limits{clientRequests: 4, requests: 16, peerConns: 3, conns: 200, read: time.Hour}
	})
	addr := strings.TrimPrefix(srv.base, "http://")
	for range 3 {
		drip(t, addr, "")
	}
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second))) // a bound, never reached: the server closes it
	_, err = c.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "closed as accepted")

	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	res, err := client.Post(srv.base+"/webhooks/kazawallet", "application/json", strings.NewReader(kazawalletWebhook("ord_peer", "10.00")))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "1", sample(scrape(t, srv.admin), `payhook_serve_refused_total{limit="peer_connections"}`))
}

// TestConnectionsPerIPv6Net (security review): an IPv6 /48 holds at most
// 4 times a peer's connections, however many /64s it spreads them over,
// so that one site's addresses cannot hold every connection; a peer of
// another /48 is served.
func TestConnectionsPerIPv6Net(t *testing.T) {
	stats := &limitStats{}
	l := limitConns(nil, limits{peerConns: 2, conns: 1000}, nil, stats)
	from := func(ip string) peerKey { return l.peer(&net.TCPAddr{IP: net.ParseIP(ip), Port: 4000}) }
	var held []peerKey
	for i := range 4 { // 4 /64s of one /48, each at its own cap
		for range 2 {
			k := from(fmt.Sprintf("2001:db8:1:%x::1", i))
			require.True(t, l.enter(k))
			held = append(held, k)
		}
	}
	assert.False(t, l.enter(from("2001:db8:1:ff::1")), "a fifth /64 of the /48")
	assert.False(t, l.enter(from("2001:db8:1:0::2")), "a /64 at its cap")
	assert.True(t, l.enter(from("2001:db8:2::1")), "another /48")
	assert.True(t, l.enter(from("192.0.2.1")), "an IPv4 peer")
	assert.EqualValues(t, 2, stats.peerConns.Load())

	l.leave(held[0])
	assert.True(t, l.enter(from("2001:db8:1:ff::1")), "a slot of the /48 given back")
}

// TestServeClosesIdleConnections (security review): the public listener
// closes a connection left idle after its request within limits.idle, not
// net/http's 60 s of the admin listener: a webhook is one request per
// connection, and an idle one only holds a slot of its peer's.
func TestServeClosesIdleConnections(t *testing.T) {
	srv := startServeAll(t, map[string]string{"KASPEROPAY_ENABLED": "1"}, func(c *config) {
		c.limits.idle = 50 * time.Millisecond
	})
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.base, "http://"))
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: payhook\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.False(t, res.Close, "kept alive")

	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second))) // a bound, never reached: the server closes it
	_, err = br.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "closed once idle")
}

// TestDefaultIdleTimeout: the public listener's idle connections are
// closed within 15 s.
func TestDefaultIdleTimeout(t *testing.T) {
	cfg, err := loadConfig(env(map[string]string{}))
	require.NoError(t, err)
	assert.Equal(t, 15*time.Second, cfg.limits.idle)
}

// TestServeBoundsHeaders (issue 17, §4): headers are bounded well below
// net/http's 1 MB.
func TestServeBoundsHeaders(t *testing.T) {
	base, _, _ := startServe(t, map[string]string{"KASPEROPAY_ENABLED": "1"})
	r, err := http.NewRequest(http.MethodPost, base+"/webhooks/kasperopay", strings.NewReader("{}"))
	require.NoError(t, err)
	r.Header.Set("X-Padding", strings.Repeat("a", 64<<10))
	res, err := http.DefaultClient.Do(r)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, res.StatusCode)
}

// scrape returns the admin listener's /metrics.
func scrape(t *testing.T, admin string) string {
	t.Helper()
	code, body := get(t, admin+"/metrics")
	require.Equal(t, http.StatusOK, code)
	return body
}
