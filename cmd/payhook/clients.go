package main

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// proxies are the trusted reverse proxies (PAYHOOK_TRUSTED_PROXIES): the
// peers whose X-Forwarded-For serve believes. The zero value trusts none.
type proxies []netip.Prefix

// parseProxies reads a comma-separated list of CIDRs ("10.0.0.0/8") or
// addresses ("127.0.0.1", a /32 or /128).
func parseProxies(v string) (proxies, error) {
	var ps proxies
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, errors.New("holds an empty value (a comma too many?)")
		}
		if a, err := netip.ParseAddr(s); err == nil {
			ps = append(ps, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, errors.New("want addresses or CIDRs, such as 127.0.0.1 or 10.0.0.0/8, separated by commas")
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		ps = append(ps, p.Masked())
	}
	return ps, nil
}

// trusts reports whether a is one of the trusted proxies.
func (ps proxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// client names the client of r, for the rate limit and the caps on
// requests in flight: r's peer, or, when the peer is a trusted proxy, the
// right-most address of X-Forwarded-For that is not a trusted proxy (each
// proxy appends the address it got the request from, so the addresses to
// the right of the first untrusted one were written by trusted proxies,
// and those to its left by whoever sent it). When every address is a
// trusted proxy, the left-most; when one cannot be read, the trusted hop
// that wrote it. An IPv6 address is named by its /64, which one host
// commonly has whole.
func (ps proxies) client(r *http.Request) string {
	peer, ok := peerAddr(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr
	}
	client := peer
	if len(ps) > 0 && ps.trusts(peer) {
		hops := r.Header.Values("X-Forwarded-For")
	walk:
		for i := len(hops) - 1; i >= 0; i-- {
			fields := strings.Split(hops[i], ",")
			for j := len(fields) - 1; j >= 0; j-- {
				a, ok := hopAddr(fields[j])
				if !ok {
					break walk
				}
				client = a
				if !ps.trusts(a) {
					break walk
				}
			}
		}
	}
	return clientName(client)
}

// peerAddr reads the address of a RemoteAddr ("1.2.3.4:5678").
func peerAddr(remote string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		a, err := netip.ParseAddr(remote)
		return a.Unmap(), err == nil
	}
	return ap.Addr().Unmap(), true
}

// hopAddr reads one address of X-Forwarded-For: "1.2.3.4", "2001:db8::1",
// or, as some proxies write them, with a port ("1.2.3.4:80",
// "[2001:db8::1]:80").
func hopAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// clientName is a as the limits name clients: an IPv4 address, or the /64
// of an IPv6 address.
func clientName(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// limits are serve's caps on what its clients may hold at once (the
// public listener). Each protects memory from clients that open requests
// or connections and send nothing, or send their bodies a byte at a time:
// beyond them a client is answered at once, without its body being read.
type limits struct {
	// clientRequests is the number of requests of one client (proxies.client)
	// served at once. Beyond it: 429 with Retry-After, and the connection
	// is closed.
	clientRequests int
	// requests is the number of requests served at once, all clients
	// together. Beyond it: 503 with Retry-After.
	requests int
	// peerConns is the number of connections open at once from one peer
	// address (an IPv6 address by its /64), unless the peer is a trusted
	// proxy: beyond it, a new connection is closed as it is accepted. An
	// IPv6 /48, the least a site is given, may have 4 times as many
	// (netConnsPerPeer): its holder has 65,536 /64s.
	peerConns int
	// conns is the number of connections open at once, all peers together:
	// beyond it, a new connection is closed as it is accepted.
	conns int
	// read bounds the reading of a whole request, its body included: a
	// client sending its body a byte at a time holds its slot that long
	// at most.
	read time.Duration
	// idle bounds how long a connection is kept open, idle, after its
	// request: a provider sends a webhook per connection in practice, and
	// an idle connection holds one of its peer's slots (peerConns). 0:
	// read.
	idle time.Duration
}

// defaultLimits are serve's caps. A provider sends a webhook at a time, or
// a few: 16 requests at once is more than any sends, and 256 requests of
// at most 256 KiB each bound the bodies held to 64 MiB.
var defaultLimits = limits{clientRequests: 16, requests: 256, peerConns: 32, conns: 1024, read: 10 * time.Second, idle: 15 * time.Second}

// withRateLimit is l for a rate limit of burst (0: off): a client may have
// in flight as many requests as the rate limit lets it send at once (a
// quarter of the total with the rate limit off, which asks for no
// per-client limit), and never more than a quarter of the total, whatever
// the rate limit, so that one client cannot take every slot and get the
// others' webhooks answered 503.
func (l limits) withRateLimit(burst int) limits {
	quarter := max(1, l.requests/4)
	if burst <= 0 {
		l.clientRequests = quarter
		return l
	}
	l.clientRequests = min(max(l.clientRequests, burst), quarter)
	return l
}

// limitStats counts what the limits refused, and what they hold, for
// /metrics.
type limitStats struct {
	// refused, by limit
	clientRequests, requests, peerConns, conns atomic.Int64
	// held now
	requestsInFlight, connsOpen atomic.Int64
}

// admission caps the requests served at once, per client and in total
// (limits.clientRequests, limits.requests). It is safe for concurrent use.
type admission struct {
	perClient, total int
	client           func(*http.Request) string
	stats            *limitStats

	mu       sync.Mutex
	inFlight map[string]int // by client; a client with none is not kept
	n        int
}

func newAdmission(l limits, client func(*http.Request) string, stats *limitStats) *admission {
	return &admission{perClient: l.clientRequests, total: l.requests, client: client, stats: stats, inFlight: map[string]int{}}
}

// wrap serves h's requests within the caps, answering the others at once:
// 429 to a client over its own cap, so that the other clients are served
// as before, and 503 when every slot is taken.
func (a *admission) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := a.client(r)
		status := a.enter(client)
		if status != 0 {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Connection", "close") // its body is not read
			http.Error(w, http.StatusText(status), status)
			return
		}
		defer a.leave(client)
		h.ServeHTTP(w, r)
	})
}

// enter takes a slot for client, or returns the status to answer.
func (a *admission) enter(client string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.inFlight[client] >= a.perClient:
		a.stats.clientRequests.Add(1)
		return http.StatusTooManyRequests
	case a.n >= a.total:
		a.stats.requests.Add(1)
		return http.StatusServiceUnavailable
	}
	a.inFlight[client]++
	a.n++
	a.stats.requestsInFlight.Add(1)
	return 0
}

func (a *admission) leave(client string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n--
	a.stats.requestsInFlight.Add(-1)
	if a.inFlight[client]--; a.inFlight[client] <= 0 {
		delete(a.inFlight, client)
	}
}

// netConnsPerPeer is how many times limits.peerConns an IPv6 /48 may hold.
const netConnsPerPeer = 4

// connLimiter is a listener that caps the connections open at once, per
// peer, per IPv6 /48 and in total (limits.peerConns, netConnsPerPeer,
// limits.conns), closing a connection beyond them as it is accepted.
// Trusted proxies have no cap of their own: their clients are capped by
// request (admission).
type connLimiter struct {
	net.Listener
	perPeer, perNet, total int
	proxies                proxies
	stats                  *limitStats

	mu    sync.Mutex
	peers map[netip.Prefix]int // by peer (an IPv4 /32, an IPv6 /64) and by IPv6 /48
	n     int
}

func limitConns(ln net.Listener, l limits, ps proxies, stats *limitStats) *connLimiter {
	return &connLimiter{Listener: ln, perPeer: l.peerConns, perNet: netConnsPerPeer * l.peerConns, total: l.conns,
		proxies: ps, stats: stats, peers: map[netip.Prefix]int{}}
}

// peerKey is where a connection comes from, for the caps: its peer (an
// IPv4 address, an IPv6 address's /64) and, for IPv6, its /48.
type peerKey struct {
	peer, net netip.Prefix // net: invalid for IPv4
	capped    bool         // not a trusted proxy
}

// Accept returns the next connection within the caps.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		k := l.peer(c.RemoteAddr())
		if l.enter(k) {
			return &limitedConn{Conn: c, release: func() { l.leave(k) }}, nil
		}
		c.Close()
	}
}

// peer returns the key of the peer at addr.
func (l *connLimiter) peer(addr net.Addr) peerKey {
	a, ok := peerAddr(addr.String())
	if !ok || l.proxies.trusts(a) {
		return peerKey{}
	}
	if !a.Is6() {
		return peerKey{peer: netip.PrefixFrom(a, a.BitLen()), capped: true}
	}
	p, _ := a.Prefix(64)
	n, _ := a.Prefix(48)
	return peerKey{peer: p, net: n, capped: true}
}

func (l *connLimiter) enter(k peerKey) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.n >= l.total:
		l.stats.conns.Add(1)
		return false
	case k.capped && l.peers[k.peer] >= l.perPeer,
		k.capped && k.net.IsValid() && l.peers[k.net] >= l.perNet:
		l.stats.peerConns.Add(1)
		return false
	}
	l.n++
	l.stats.connsOpen.Add(1)
	if k.capped {
		l.peers[k.peer]++
		if k.net.IsValid() {
			l.peers[k.net]++
		}
	}
	return true
}

func (l *connLimiter) leave(k peerKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n--
	l.stats.connsOpen.Add(-1)
	if k.capped {
		l.release(k.peer)
		if k.net.IsValid() {
			l.release(k.net)
		}
	}
}

// release counts one connection less for key, under l.mu.
func (l *connLimiter) release(key netip.Prefix) {
	if l.peers[key]--; l.peers[key] <= 0 {
		delete(l.peers, key)
	}
}

// limitedConn gives its slot back once, when it is closed.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
