// Package exactlyoncetest proves, through payhook's whole middleware over real
// HTTP, that an [idempotency.Store] shared by replicas gives exactly-once
// processing: deliveries racing on two replicas, a replica that hangs past
// its lease, a server stopped and started again, a claim whose reply is
// lost. Package [github.com/payhook/payhook/idempotency/idempotencytest]
// checks a store's contract call by call; exactlyoncetest checks what the
// middleware makes of it, in real time against a real server.
//
// Each proof takes a func that returns a store with its own connections (a
// replica of its own):
//
//	func TestReplicasProcessOnce(t *testing.T) {
//		exactlyoncetest.ReplicasProcessOnce(t, func(t testing.TB) idempotency.Store {
//			return mystore.New(connect(t))
//		})
//	}
//
// The webhooks are those of a made-up provider defined here, which
// authenticates nothing: the proofs are about the store. Keys and order ids
// are random, so a server may be shared with other tests. It imports only
// the standard library, payhook and package idempotency.
package exactlyoncetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency"
)

// orders is the made-up provider of the proofs: a delivery is
// {"order":"<id>"}, and its key is the id.
type orders struct{}

func (orders) Name() string { return "exactlyoncetest" }

func (orders) Verify(_ context.Context, _ http.Header, body []byte) (string, error) {
	var d struct {
		Order string `json:"order"`
	}
	if err := json.Unmarshal(body, &d); err != nil || d.Order == "" {
		return "", fmt.Errorf("%w: exactlyoncetest: want {\"order\":\"<id>\"}", payhook.ErrMalformed)
	}
	return d.Order, nil
}

func (orders) Key(id string) string { return id }

// webhook is a delivery of order id.
func webhook(id string) string { return `{"order":"` + id + `"}` }

// uniqueOrder returns an order id no other test has used: the servers
// outlive a test.
func uniqueOrder() string { return "ord_" + rand.Text() }

// counter is the application's handler: it counts the events it processed.
type counter struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, _ := payhook.EventFrom[string](r.Context())
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[id]++
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
	srv := httptest.NewServer(payhook.Middleware[string](orders{}, append([]payhook.Option{payhook.WithStore(store)}, opts...)...)(h))
	t.Cleanup(srv.Close)
	return srv.URL
}

// deliver posts body to url and returns the status and the answer. It may
// run outside the test's goroutine, so it only reports errors.
func deliver(t *testing.T, url, body string) (int, string) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Errorf("POST %s: %v", url, err)
		return 0, ""
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Errorf("POST %s: reading the answer: %v", url, err)
	}
	return res.StatusCode, string(b)
}

// wantAnswer checks a delivery's answer.
func wantAnswer(t *testing.T, what string, code int, answer string, wantCode int, wantAnswer string) {
	t.Helper()
	if code != wantCode || (wantAnswer != "" && answer != wantAnswer) {
		t.Errorf("%s: answered %d %q, want %d %q", what, code, answer, wantCode, wantAnswer)
	}
}

// wantCalls checks how often the handler processed order id.
func wantCalls(t *testing.T, app *counter, id string, want int, why string) {
	t.Helper()
	if got := app.count(id); got != want {
		t.Errorf("order %s processed %d times, want %d: %s", id, got, want, why)
	}
}

// eventually polls cond, at interval, until it holds or timeout has
// passed: what it waits for is a lease ending or a server starting, in
// real time.
func eventually(t *testing.T, timeout, interval time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(interval)
	}
}

// ReplicasProcessOnce delivers one webhook 200 times at once, spread over
// two replicas, each with its own store from newStore: the handler is
// called exactly once, and every other delivery is answered 200 or 409.
func ReplicasProcessOnce(t *testing.T, newStore func(testing.TB) idempotency.Store) {
	t.Helper()
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

	wantCalls(t, &app, id, 1, "exactly one handler call across both replicas")
	processed := 0
	for i, code := range codes {
		if code != http.StatusOK && code != http.StatusConflict {
			t.Errorf("delivery %d: answered %d %q, want 200 or 409", i, code, answers[i])
		}
		if answers[i] == "processed\n" {
			processed++
		}
	}
	if processed != 1 {
		t.Errorf("%d deliveries were answered by the handler, want 1", processed)
	}
	for _, url := range replicas {
		code, answer := deliver(t, url, body)
		wantAnswer(t, "a later duplicate", code, answer, http.StatusOK, "already processed\n")
	}
	wantCalls(t, &app, id, 1, "after the duplicates")
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
	t.Helper()
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
	code, answer := deliver(t, urlB, body)
	wantAnswer(t, "a retry while A's lease runs", code, answer, http.StatusConflict, "")
	eventually(t, 10*time.Second, 50*time.Millisecond, func() bool {
		code, _ := deliver(t, urlB, body)
		return code == http.StatusOK
	}, "B processes the event after A's lease")
	wantCalls(t, &app, id, 1, "B processed it")

	// A comes back late: its completion is refused, B's stands.
	close(wake)
	if err := <-a.completed; err != idempotency.ErrNotOwner {
		t.Errorf("A's late completion: %v, want %v", err, idempotency.ErrNotOwner)
	}
	if code := <-answerA; code != http.StatusOK {
		t.Errorf("A answered %d, want 200 (its handler succeeded)", code)
	}
	for _, url := range []string{urlA, urlB} {
		code, answer := deliver(t, url, body)
		wantAnswer(t, "a later duplicate", code, answer, http.StatusOK, "already processed\n")
	}
	wantCalls(t, &app, id, 1, "processed exactly once")
}

// Outage is the flow of an outage: store's server is stopped between
// deliveries and started again on the same port and data. Deliveries meanwhile
// are answered 503 and processed nothing; once the server is back, the
// retry is processed, with no restart of the application.
func Outage(t *testing.T, store idempotency.Store, stop, start func()) {
	t.Helper()
	var app counter
	url := replica(t, store, &app)
	before, during := uniqueOrder(), uniqueOrder()

	code, answer := deliver(t, url, webhook(before))
	wantAnswer(t, "before the outage", code, answer, http.StatusOK, "processed\n")

	stop()
	for _, id := range []string{before, during, during} {
		code, answer := deliver(t, url, webhook(id))
		wantAnswer(t, "order "+id+" while the store is down", code, answer, http.StatusServiceUnavailable, "")
	}
	state, err := store.Claim(context.Background(), "outage-direct", idempotency.NewToken(), time.Minute)
	if err == nil || state != 0 {
		t.Errorf("a claim while the store is down: %v, %v; want no state and an error", state, err)
	}
	wantCalls(t, &app, during, 0, "no handler call while the store is down")

	start()
	eventually(t, 20*time.Second, 50*time.Millisecond, func() bool {
		code, _ := deliver(t, url, webhook(during))
		return code == http.StatusOK
	}, "the retry is processed once the store is back")
	for _, id := range []string{before, during} {
		code, answer := deliver(t, url, webhook(id))
		wantAnswer(t, "order "+id+" after the outage", code, answer, http.StatusOK, "already processed\n")
		wantCalls(t, &app, id, 1, "processed exactly once")
	}
}

// StoreDown checks a store whose server does not answer: every call fails
// with an error that starts "pkg: claim: " (complete, release), and is not
// idempotency.ErrNotOwner (the key's state is unknown, not someone
// else's), and no claim is acquired or done.
func StoreDown(t *testing.T, store idempotency.Store, pkg string) {
	t.Helper()
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
	}{
		{"claim", func() error {
			state, err := store.Claim(ctx, "k", idempotency.NewToken(), time.Minute)
			if state != 0 {
				t.Errorf("claim: %v, want no state", state)
			}
			return err
		}},
		{"complete", func() error { return store.Complete(ctx, "k", "token", time.Minute) }},
		{"release", func() error { return store.Release(ctx, "k", "token") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			switch {
			case err == nil:
				t.Fatal("no error")
			case err == idempotency.ErrNotOwner:
				t.Errorf("%v: a store that cannot answer does not know the owner", err)
			case !strings.Contains(err.Error(), pkg+": "+tt.name+": "):
				t.Errorf("%q does not say %q", err, pkg+": "+tt.name+": ")
			}
		})
	}
}

// LostClaimReply delivers a webhook through a store whose server applies
// the claim but whose reply is lost on the way back (the connection drops
// right after the server answered): the delivery is answered 503, and the
// provider's next retry is processed, rather than refused with 409 until
// the claim's lease ends.
//
// server is the server's address (host:port). newStore returns a store
// that reaches its server at addr, a proxy in front of server, and that
// does not send a command again itself (go-redis: MaxRetries -1), so that
// the lost reply reaches the caller.
func LostClaimReply(t *testing.T, server string, newStore func(t testing.TB, addr string) idempotency.Store) {
	t.Helper()
	proxy := newReplyCutter(t, server)
	var app counter
	url := replica(t, newStore(t, proxy.addr()), &app, payhook.WithLease(time.Hour))

	// A first event, delivered whole, warms what the store prepares on
	// first use (Redis's script cache, PostgreSQL's statements), so that the
	// reply cut below is the claim's own.
	warm := uniqueOrder()
	code, answer := deliver(t, url, webhook(warm))
	wantAnswer(t, "a first event", code, answer, http.StatusOK, "processed\n")

	id := uniqueOrder()
	proxy.cutReplyTo(id)
	code, answer = deliver(t, url, webhook(id))
	if !proxy.didCut() {
		t.Fatalf("the proxy saw no claim of %s to cut the reply of", id)
	}
	wantAnswer(t, "the delivery whose claim's reply was lost", code, answer, http.StatusServiceUnavailable, "")
	wantCalls(t, &app, id, 0, "the store's answer was lost")

	code, answer = deliver(t, url, webhook(id)) // the provider's next retry
	wantAnswer(t, "the next retry", code, answer, http.StatusOK, "processed\n")
	code, answer = deliver(t, url, webhook(id))
	wantAnswer(t, "a later duplicate", code, answer, http.StatusOK, "already processed\n")
	wantCalls(t, &app, id, 1, "processed once, on the retry")
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
	t.Helper()
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
		var conns []net.Conn // closed when the test ends
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, client)
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
	upDone := make(chan struct{})
	defer func() { <-upDone }()
	go func() { // client to server
		defer close(upDone)
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
			client.Close() // the answer unsent; the upstream copy ends
			return
		}
		if n > 0 {
			if _, err := client.Write(buf[:n]); err != nil {
				client.Close()
				return
			}
		}
		if err != nil {
			client.Close()
			return
		}
	}
}

// BenchmarkClaimComplete measures what the middleware asks of the store
// for each new event: a token, a claim and its completion, serially and
// from many goroutines at once (8 per CPU: the work waits on the network
// or the disk, as many concurrent webhooks would). It reports claims/s.
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
	report := func(b *testing.B) {
		if s := b.Elapsed().Seconds(); s > 0 {
			b.ReportMetric(float64(b.N)/s, "claims/s")
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			once(b)
		}
		report(b)
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				once(b)
			}
		})
		report(b)
	})
}
