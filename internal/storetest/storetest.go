// Package storetest holds what the shared idempotency stores' tests have in
// common: finding the test servers that scripts/test starts, and the proofs
// that a store gives payhook exactly-once processing across replicas,
// through the whole middleware, over HTTP. Each store's module calls these
// with a newStore func that returns a store with its own connections (a
// replica of its own) and, for the outage, a dedicated server it can stop
// and start.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/providers/kazawallet"
)

// ServerURL returns the URL of a test server from the environment variable
// name, which scripts/test sets. Without it the test is skipped, or fails
// when CI is set.
func ServerURL(t testing.TB, name string) string {
	t.Helper()
	url := os.Getenv(name)
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set, and CI is: run the tests with ./scripts/test, which starts the servers", name)
		}
		t.Skipf("%s is not set: run ./scripts/test, which starts the servers the test needs", name)
	}
	return url
}

// Command returns the path of a server's program. Without it the test is
// skipped, or fails when CI is set.
func Command(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not on PATH, and CI is: run the tests with ./scripts/test, which installs it", name)
		}
		t.Skipf("%s is not on PATH: run ./scripts/test, which installs it", name)
	}
	return path
}

// FreePort returns a port of 127.0.0.1 that nothing listens on now.
func FreePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	require.NoError(t, err)
	return port
}

// WaitListening waits until something accepts connections on addr.
func WaitListening(t testing.TB, addr string) {
	t.Helper()
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 30*time.Second, 10*time.Millisecond, "a server listening on %s", addr)
}

const apiKey, apiSecret = "test_api_key", "test_api_secret"

// webhook is a signed Kazawallet delivery of order id.
func webhook(id string) string {
	return `{"order_id":"` + id + `","amount":"10.00","status":"fulfilled","currency":"USD","ref":"r1","secret":"` +
		kazawallet.Sign(apiKey, apiSecret, "10.00", id) + `"}`
}

// uniqueOrder returns an order id no other test has used: the servers
// outlive a test.
func uniqueOrder() string { return "ord_" + rand.Text() }

// counter is the application's handler: it counts the events it processed.
type counter struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e, _ := kazawallet.EventFrom(r.Context())
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[e.OrderID]++
	io.WriteString(w, "processed\n")
}

func (c *counter) count(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[id]
}

// replica starts one replica of the application: its own middleware stack
// over store, served over HTTP until the test ends.
func replica(t *testing.T, store idempotency.Store, h http.Handler, opts ...payhook.Option) string {
	t.Helper()
	kw, err := kazawallet.New(apiKey, apiSecret)
	require.NoError(t, err)
	srv := httptest.NewServer(payhook.Middleware(kw, append([]payhook.Option{payhook.WithStore(store)}, opts...)...)(h))
	t.Cleanup(srv.Close)
	return srv.URL
}

// deliver posts body to url and returns the status and the answer. It may
// run outside the test's goroutine, so it only asserts.
func deliver(t *testing.T, url, body string) (int, string) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if !assert.NoError(t, err) {
		return 0, ""
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	assert.NoError(t, err)
	return res.StatusCode, string(b)
}

// ReplicasProcessOnce delivers one webhook 200 times at once, spread over
// two replicas, each with its own store from newStore: the handler is
// called exactly once, and every other delivery is answered 200 or 409.
func ReplicasProcessOnce(t *testing.T, newStore func(testing.TB) idempotency.Store) {
	const deliveries = 200
	var app counter
	replicas := []string{replica(t, newStore(t), &app), replica(t, newStore(t), &app)}
	id := uniqueOrder()
	body := webhook(id)

	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		codes   = make([]int, deliveries)
		answers = make([]string, deliveries)
	)
	for i := range deliveries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes[i], answers[i] = deliver(t, replicas[i%len(replicas)], body)
		}()
	}
	close(start)
	wg.Wait()

	assert.Equal(t, 1, app.count(id), "exactly one handler call across both replicas")
	processed := 0
	for i, code := range codes {
		assert.Contains(t, []int{http.StatusOK, http.StatusConflict}, code, "delivery %d: %s", i, answers[i])
		if answers[i] == "processed\n" {
			processed++
		}
	}
	assert.Equal(t, 1, processed, "one delivery was answered by the handler")
	for _, url := range replicas {
		code, answer := deliver(t, url, body)
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "already processed\n", answer)
	}
	assert.Equal(t, 1, app.count(id))
}

// spy records the errors of a store's Complete calls.
type spy struct {
	idempotency.Store
	completed chan error
}

func (s spy) Complete(ctx context.Context, key, token string, retention time.Duration) error {
	err := s.Store.Complete(ctx, key, token, retention)
	s.completed <- err
	return err
}

// CrashedReplica has replica A claim an event and hang past its lease:
// replica B processes the event once the lease ends, and A's late
// completion is refused with idempotency.ErrNotOwner.
func CrashedReplica(t *testing.T, newStore func(testing.TB) idempotency.Store) {
	const lease = 500 * time.Millisecond
	id := uniqueOrder()
	body := webhook(id)

	// Replica A claims the event, then hangs in its handler past its lease,
	// as a process that died would never finish.
	started, wake := make(chan struct{}), make(chan struct{})
	a := spy{newStore(t), make(chan error, 1)}
	urlA := replica(t, a, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-wake
	}), payhook.WithLease(lease))
	answerA := make(chan int, 1)
	go func() {
		code, _ := deliver(t, urlA, body)
		answerA <- code
	}()
	<-started

	// Replica B gets the retries: refused while A's lease runs, processed
	// once it has ended.
	var app counter
	urlB := replica(t, newStore(t), &app)
	code, _ := deliver(t, urlB, body)
	assert.Equal(t, http.StatusConflict, code, "A's lease is running")
	require.Eventually(t, func() bool {
		code, _ := deliver(t, urlB, body)
		return code == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond, "B processes the event after A's lease")
	assert.Equal(t, 1, app.count(id))

	// A comes back late: its completion is refused, B's stands.
	close(wake)
	assert.ErrorIs(t, <-a.completed, idempotency.ErrNotOwner, "A's late completion")
	assert.Equal(t, http.StatusOK, <-answerA)
	for _, url := range []string{urlA, urlB} {
		code, answer := deliver(t, url, body)
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "already processed\n", answer)
	}
	assert.Equal(t, 1, app.count(id), "processed exactly once")
}

// Outage is the flow of the outage test: a server is stopped between
// deliveries and started again on the same port and data.
func Outage(t *testing.T, store idempotency.Store, stop, start func()) {
	t.Helper()
	var app counter
	url := replica(t, store, &app)
	before, during := uniqueOrder(), uniqueOrder()

	code, _ := deliver(t, url, webhook(before))
	require.Equal(t, http.StatusOK, code)

	stop()
	for _, id := range []string{before, during, during} {
		code, answer := deliver(t, url, webhook(id))
		assert.Equal(t, http.StatusServiceUnavailable, code, "order %s while the store is down: %s", id, answer)
	}
	state, err := store.Claim(context.Background(), "outage-direct", idempotency.NewToken(), time.Minute)
	assert.Error(t, err, "a claim while the store is down")
	assert.Zero(t, state, "neither acquired nor done")
	assert.Equal(t, 0, app.count(during), "no handler call while the store is down")

	start()
	require.Eventually(t, func() bool {
		code, _ := deliver(t, url, webhook(during))
		return code == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond, "the retry is processed once the store is back, with no restart")
	for _, id := range []string{before, during} {
		code, answer := deliver(t, url, webhook(id))
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "already processed\n", answer, "order %s", id)
		assert.Equal(t, 1, app.count(id), "order %s processed exactly once", id)
	}
}

// StoreDown checks a store whose server does not answer: every call fails
// with an error that says which call, is not ErrNotOwner (the key's state is
// unknown, not someone else's), and no claim is acquired or done.
func StoreDown(t *testing.T, store idempotency.Store, pkg string) {
	t.Helper()
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
	}{
		{"claim", func() error {
			state, err := store.Claim(ctx, "k", idempotency.NewToken(), time.Minute)
			assert.Zero(t, state, "neither acquired nor done")
			return err
		}},
		{"complete", func() error { return store.Complete(ctx, "k", "token", time.Minute) }},
		{"release", func() error { return store.Release(ctx, "k", "token") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			require.Error(t, err)
			assert.NotErrorIs(t, err, idempotency.ErrNotOwner)
			assert.Contains(t, err.Error(), pkg+": "+tt.name+": ")
		})
	}
}

// BenchmarkClaimComplete measures what the middleware asks of the store
// for each new event: a claim and its completion, serially and from many
// goroutines at once (8 per CPU: the work waits on the network, as many
// concurrent webhooks would).
func BenchmarkClaimComplete(b *testing.B, store idempotency.Store) {
	prefix := "bench:" + rand.Text() + ":"
	var n atomic.Int64
	once := func(b *testing.B) {
		ctx := context.Background()
		key, token := prefix+strconv.FormatInt(n.Add(1), 36), idempotency.NewToken()
		state, err := store.Claim(ctx, key, token, time.Minute)
		if err == nil && state == idempotency.Acquired {
			err = store.Complete(ctx, key, token, time.Minute)
		}
		if err != nil || state != idempotency.Acquired {
			b.Errorf("claim and complete %s: %v, %v", key, state, err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			once(b)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				once(b)
			}
		})
	})
}

// LostClaimReply delivers a webhook through a store whose server applies
// the claim but whose reply is lost on the way back (the connection drops
// right after the server answered): the delivery is answered 503, and the
// provider's next retry is processed, rather than refused with 409 until
// the claim's lease ends.
//
// newStore returns a store that reaches its server at addr, a proxy in
// front of server (host:port), and that does not retry a command itself
// (go-redis: MaxRetries -1), so that the lost reply reaches the caller.
func LostClaimReply(t *testing.T, server string, newStore func(t testing.TB, addr string) idempotency.Store) {
	t.Helper()
	proxy := newReplyCutter(t, server)
	var app counter
	url := replica(t, newStore(t, proxy.addr()), &app, payhook.WithLease(time.Hour))

	// A first event, delivered whole, warms what the store prepares on
	// first use (Redis's script cache, PostgreSQL's statements), so that the
	// reply cut below is the claim's own.
	warm := uniqueOrder()
	if code, answer := deliver(t, url, webhook(warm)); code != http.StatusOK {
		t.Fatalf("first delivery: %d %s", code, answer)
	}

	id := uniqueOrder()
	proxy.cutReplyTo(id)
	code, answer := deliver(t, url, webhook(id))
	if !proxy.didCut() {
		t.Fatalf("the proxy saw no claim of %s to cut the reply of", id)
	}
	assert.Equal(t, http.StatusServiceUnavailable, code, "the claim's reply was lost: %s", answer)
	assert.Equal(t, 0, app.count(id))

	code, answer = deliver(t, url, webhook(id)) // the provider's next retry
	assert.Equal(t, http.StatusOK, code, "the retry is processed, not refused for the lease: %s", answer)
	assert.Equal(t, 1, app.count(id))
	code, answer = deliver(t, url, webhook(id))
	assert.Equal(t, "already processed\n", answer, "%d", code)
	assert.Equal(t, 1, app.count(id))
}

// replyCutter is a TCP proxy to a server that, once told a marker, cuts the
// connection that sends it right after the server has answered, dropping
// the answer: the command is applied, and the client sees a broken
// connection.
type replyCutter struct {
	ln     net.Listener
	server string

	mu     sync.Mutex
	marker []byte
	cut    bool
}

func newReplyCutter(t *testing.T, server string) *replyCutter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &replyCutter{ln: ln, server: server}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.serve(client)
			}()
		}
	}()
	return p
}

func (p *replyCutter) addr() string { return p.ln.Addr().String() }

// cutReplyTo arms the proxy: the next message a client sends that holds
// marker has its reply dropped.
func (p *replyCutter) cutReplyTo(marker string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.marker, p.cut = []byte(marker), false
}

func (p *replyCutter) didCut() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cut
}

// take reports whether chunk holds the armed marker, and disarms it if so.
func (p *replyCutter) take(chunk []byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.marker == nil || !bytes.Contains(chunk, p.marker) {
		return false
	}
	p.marker = nil
	return true
}

func (p *replyCutter) serve(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.server)
	if err != nil {
		return
	}
	defer server.Close()
	var cutNext atomic.Bool
	go func() { // client to server
		defer server.Close()
		buf := make([]byte, 64<<10)
		for {
			n, err := client.Read(buf)
			if n > 0 {
				if p.take(buf[:n]) {
					cutNext.Store(true)
				}
				if _, err := server.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 64<<10) // server to client
	for {
		n, err := server.Read(buf)
		if n > 0 && cutNext.Load() {
			p.mu.Lock()
			p.cut = true
			p.mu.Unlock()
			return // both connections close, the answer unsent
		}
		if n > 0 {
			if _, err := client.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
