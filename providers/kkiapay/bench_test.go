package kkiapay

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/testsupport/benchtest"
)

// The benchmarks below measure the whole middleware path on one KKiaPay
// webhook, without confirmation, beside its floor: the work no receiver can
// skip, one constant-time comparison of the header with the secret and one
// encoding/json decode into the same wire struct. Read the ratio off one
// run:
//
//	go test -run '^$' -bench . -benchmem ./providers/kkiapay

const benchSecret = "test_hash_secret"

// benchBodies are distinct webhooks, so that every iteration of the full
// path claims a fresh key.
func benchBodies(n int) [][]byte {
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = fmt.Appendf(nil, `{"transactionId":"tx_%06d","isPaymentSucces":true,"account":"22996000000",`+
			`"label":"Order %d","method":"MOBILE_MONEY","amount":1000,"fees":19,"partnerId":"",`+
			`"performedAt":"2024-03-20T08:55:22.883Z","stateData":{"orderId":"ord_%d"},"event":"transaction.success"}`, i, i, i)
	}
	return bodies
}

// BenchmarkFloor is the bare minimum: compare the header with the secret
// in constant time, decode the body with encoding/json.
func BenchmarkFloor(b *testing.B) {
	bodies := benchBodies(1024)
	secret := []byte(benchSecret)
	header := http.Header{}
	header.Set(SignatureHeader, benchSecret)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if subtle.ConstantTimeCompare([]byte(header.Get(SignatureHeader)), secret) != 1 {
			b.Fatal("secret mismatch")
		}
		var w wireEvent
		if err := json.Unmarshal(bodies[i%len(bodies)], &w); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkVerify is Provider.Verify alone: header, decode, Event.
func BenchmarkVerify(b *testing.B) {
	p, err := New(benchSecret)
	if err != nil {
		b.Fatal(err)
	}
	bodies := benchBodies(1024)
	header := http.Header{}
	header.Set(SignatureHeader, Sign(benchSecret))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := p.Verify(context.Background(), header, bodies[i%len(bodies)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkMiddleware is the whole path: a request in, the body read, the
// header checked, the body decoded, the key claimed in the default
// in-memory store, the typed handler called, the key marked done, the
// answer written.
func BenchmarkMiddleware(b *testing.B) {
	p, err := New(benchSecret)
	if err != nil {
		b.Fatal(err)
	}
	bodies := benchBodies(1024)
	calls := 0
	h := payhook.Handle(p, func(ctx context.Context, e Event) error {
		calls++
		return nil
	}, payhook.WithRetention(time.Nanosecond)) // each body's key is claimable again on the next lap
	header := http.Header{"Content-Type": {"application/json"}}
	header.Set(SignatureHeader, Sign(benchSecret))
	var ds []benchtest.Delivery
	for _, body := range bodies {
		ds = append(ds, benchtest.Delivery{Body: body, Header: header})
	}
	benchtest.Serve(b, h, ds, func() int { return calls })
}
