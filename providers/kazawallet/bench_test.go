package kazawallet

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/testsupport/benchtest"
)

// The benchmarks below measure the whole middleware path on one webhook
// beside its floor, the work no receiver can skip: the seed's signature
// computation and one encoding/json decode. Read the ratio off one run:
//
//	go test -run '^$' -bench . -benchmem ./providers/kazawallet

const benchKey, benchSecret = "test_api_key", "test_api_secret"

// benchBodies are distinct signed webhooks, so that every iteration of the
// full path claims a fresh key.
func benchBodies(n int) [][]byte {
	bodies := make([][]byte, n)
	for i := range bodies {
		id := fmt.Sprintf("ord_%06d", i)
		bodies[i] = fmt.Appendf(nil, `{"order_id":%q,"secret":%q,"amount":"10.00","ref":"user-42","status":"fulfilled","currency":"USD"}`,
			id, Sign(benchKey, benchSecret, "10.00", id))
	}
	return bodies
}

// BenchmarkFloor is the bare minimum: decode the body with encoding/json,
// compute the seed's signature with a reused keyed HMAC, compare.
func BenchmarkFloor(b *testing.B) {
	bodies := benchBodies(1024)
	mac := hmac.New(sha512.New, []byte(benchSecret))
	var msg []byte
	var got, sum [sha512.Size]byte
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var w wire
		if err := json.Unmarshal(bodies[i%len(bodies)], &w); err != nil {
			b.Fatal(err)
		}
		i++
		msg = append(append(append(append(append(msg[:0], w.Amount.String()...), ":::"...), w.OrderID...), ":::"...), benchKey...)
		d := sha256.Sum256(msg)
		mac.Reset()
		mac.Write(d[:])
		n, _ := base64.StdEncoding.Decode(got[:], []byte(w.Secret))
		if !hmac.Equal(got[:n], mac.Sum(sum[:0])) {
			b.Fatal("signature mismatch")
		}
	}
}

// BenchmarkPlainHandler is what a team writes by hand, without payhook, for
// the same deliveries: read the body, json.Unmarshal it, compute the seed's
// signature (a keyed HMAC reused from a pool, as a careful author would),
// compare it, claim the order id in a map under a mutex, answer 200. It is
// the yardstick of BenchmarkMiddleware/Handle, which does all that and
// more (the form encoding, three amount forms, strict keys, a lease and a
// retention).
func BenchmarkPlainHandler(b *testing.B) {
	macs := sync.Pool{New: func() any { return hmac.New(sha512.New, []byte(benchSecret)) }}
	var (
		mu   sync.Mutex
		seen = map[string]bool{}
	)
	calls := 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		var hook struct {
			OrderID  string `json:"order_id"`
			Secret   string `json:"secret"`
			Amount   string `json:"amount"`
			Ref      string `json:"ref"`
			Status   string `json:"status"`
			Currency string `json:"currency"`
		}
		if err := json.Unmarshal(body, &hook); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		digest := sha256.Sum256([]byte(hook.Amount + ":::" + hook.OrderID + ":::" + benchKey))
		mac := macs.Get().(hash.Hash)
		mac.Reset()
		mac.Write(digest[:])
		want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		macs.Put(mac)
		if !hmac.Equal([]byte(want), []byte(hook.Secret)) {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		// The claim: a real handler would answer a duplicate here; the
		// benchmark's deliveries come round again, as BenchmarkMiddleware's
		// do with a retention of 1ns, so every one is processed.
		mu.Lock()
		_ = seen[hook.OrderID]
		seen[hook.OrderID] = true
		mu.Unlock()
		calls++
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "ok\n")
	})
	header := http.Header{"Content-Type": {"application/json"}}
	var ds []benchtest.Delivery
	for _, body := range benchBodies(1024) {
		ds = append(ds, benchtest.Delivery{Body: body, Header: header})
	}
	benchtest.Serve(b, h, ds, func() int { return calls })
}

// BenchmarkMiddleware is the whole path: a request in, the body read,
// verified and decoded, the key claimed in the default in-memory store, the
// handler called, the key marked done, the answer written. "Handle" is the
// typed handler; "Middleware" is payhook.Middleware before an
// http.Handler, which also copies the request to carry the event in its
// context.
func BenchmarkMiddleware(b *testing.B) {
	p, err := New(benchKey, benchSecret)
	if err != nil {
		b.Fatal(err)
	}
	// A retention of 1ns makes each body's key claimable again on the next lap.
	b.Run("Handle", func(b *testing.B) {
		calls := 0
		benchPath(b, &calls, payhook.Handle(p, func(ctx context.Context, e Event) error {
			calls++
			return nil
		}, payhook.WithRetention(time.Nanosecond)))
	})
	b.Run("Middleware", func(b *testing.B) {
		calls := 0
		benchPath(b, &calls, payhook.Middleware(p, payhook.WithRetention(time.Nanosecond))(
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, ok := EventFrom(r.Context()); ok {
					calls++
				}
				w.WriteHeader(http.StatusOK)
			})))
	})
}

func benchPath(b *testing.B, calls *int, h http.Handler) {
	header := http.Header{"Content-Type": {"application/json"}}
	var ds []benchtest.Delivery
	for _, body := range benchBodies(1024) {
		ds = append(ds, benchtest.Delivery{Body: body, Header: header})
	}
	benchtest.Serve(b, h, ds, func() int { return *calls })
}

// BenchmarkSignatureCheck is the signature check alone, with the keyed HMAC
// reused: it allocates nothing.
func BenchmarkSignatureCheck(b *testing.B) {
	s := newSigner(benchKey, benchSecret)
	secret := Sign(benchKey, benchSecret, "10.00", "ord_1")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.match(secret, "ord_1", "10.00"); !ok {
			b.Fatal("no match")
		}
	}
}
