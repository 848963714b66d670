package kasperopay

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/testsupport/benchtest"
)

// The benchmarks below measure the whole middleware path on one KasperoPay
// webhook beside its floor, the work no receiver can skip. In the default
// and signed modes that work includes one GET of the status API, here a
// local httptest server, so read each Middleware benchmark against the
// Floor of the same mode, from one run:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./providers/kasperopay
//
// BenchmarkFloor / BenchmarkMiddleware: signature and status API
// (WithSecrets, confirmation on). BenchmarkFloorSignatureOnly /
// BenchmarkMiddlewareSignatureOnly: signature alone (WithoutConfirmation).

const benchSecret = "whsec_bench"

var benchNow = time.Date(2026, 1, 30, 15, 30, 0, 0, time.UTC)

// benchBodies are distinct signed webhooks, so that every iteration of the
// full path claims a fresh key.
func benchBodies(n int) (bodies [][]byte, sigs []string) {
	for i := range n {
		b := fmt.Appendf(nil, `{"event":"payment.completed","timestamp":"2026-01-30T15:30:00.000Z","merchant_id":"kpm_abc123",`+
			`"payment_id":"pay_%06d","order_id":"ord_%06d","amount_kas":"150.5","amount_usd":"15.05","transaction_id":"tx_pay_%06d",`+
			`"customer_address":"kaspa:qr...","items":[{"name":"T-Shirt","quantity":1,"price":"15.05"}],"metadata":{}}`, i, i, i)
		bodies = append(bodies, b)
		sigs = append(sigs, Sign(benchSecret, b))
	}
	return bodies, sigs
}

// benchAPI answers every payment as completed, as KasperoPay's status API
// does.
func benchAPI(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, "/pay/status/")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"payment_id":%q,"status":"completed","amount_kas":150.5,"amount_usd":15.05,"txid":"tx_%s",`+
			`"store_name":"Your Store","confirmed_at":"2026-01-30T15:29:58Z","expires_at":"2026-01-30T15:44:00Z"}`, id, id)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// floor is the bare minimum: one encoding/json decode of the body into the
// event's wire struct, as for the other providers, the HMAC-SHA256 check with a reused keyed HMAC and, if api is not "", the
// status GET through a plain http.Client and one decode of its answer.
func floor(b *testing.B, api string) {
	bodies, sigs := benchBodies(1024)
	mac := hmac.New(sha256.New, []byte(benchSecret))
	hc := &http.Client{}
	var got, sum [sha256.Size]byte
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		body, sig := bodies[i%len(bodies)], sigs[i%len(bodies)]
		i++
		var w wire
		if err := json.Unmarshal(body, &w); err != nil {
			b.Fatal(err)
		}
		mac.Reset()
		mac.Write(body)
		if !decodeHex(got[:], sig) || !hmac.Equal(got[:], mac.Sum(sum[:0])) {
			b.Fatal("signature mismatch")
		}
		if api == "" {
			continue
		}
		res, err := hc.Get(api + "/pay/status/" + string(w.PaymentID))
		if err != nil {
			b.Fatal(err)
		}
		answer, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
		var pay struct {
			Status    string      `json:"status"`
			AmountKAS json.Number `json:"amount_kas"`
			TxID      string      `json:"txid"`
		}
		if err := json.Unmarshal(answer, &pay); err != nil || pay.Status != "completed" || pay.TxID != string(w.TransactionID) {
			b.Fatalf("status answer %s: %v", answer, err)
		}
	}
}

// middleware is the whole path: a request in, the body read, the signature
// checked, the body decoded, the timestamp bounded, the payment confirmed
// through the status API (unless confirmation is off), the key claimed in
// the default in-memory store, the typed handler called, the key marked
// done, the answer written.
func middleware(b *testing.B, opts ...Option) {
	p, err := New(append([]Option{WithSecrets(benchSecret), WithClock(func() time.Time { return benchNow })}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	bodies, sigs := benchBodies(1024)
	calls := 0
	h := payhook.Handle(p, func(ctx context.Context, e Event) error {
		calls++
		return nil
	}, payhook.WithRetention(time.Nanosecond)) // each body's key is claimable again on the next lap
	var ds []benchtest.Delivery
	for i, body := range bodies {
		ds = append(ds, benchtest.Delivery{Body: body, Header: http.Header{
			"Content-Type":  {"application/json"},
			SignatureHeader: {sigs[i]},
		}})
	}
	benchtest.Serve(b, h, ds, func() int { return calls })
}

// BenchmarkFloor: decode, HMAC check, status GET and its decode.
func BenchmarkFloor(b *testing.B) { floor(b, benchAPI(b).URL) }

// BenchmarkMiddleware: the whole path with a webhook secret and status
// API confirmation.
func BenchmarkMiddleware(b *testing.B) {
	cl, err := NewClient(WithBaseURL(benchAPI(b).URL))
	if err != nil {
		b.Fatal(err)
	}
	// Each answer is remembered for 1 ns of a clock that ticks 1 ns a
	// reading, so every delivery costs a call of the API, as in the floor
	// (with the default TTL and a fixed clock, the 1024 payments' answers
	// would be remembered and the API called 1024 times in all).
	var tick atomic.Int64
	middleware(b, WithConfirmation(cl), WithAnswerTTL(time.Nanosecond),
		WithClock(func() time.Time { return benchNow.Add(time.Duration(tick.Add(1))) }))
}

// BenchmarkFloorSignatureOnly: decode and HMAC check.
func BenchmarkFloorSignatureOnly(b *testing.B) { floor(b, "") }

// BenchmarkMiddlewareSignatureOnly: the whole path with a webhook secret
// and WithoutConfirmation.
func BenchmarkMiddlewareSignatureOnly(b *testing.B) { middleware(b, WithoutConfirmation()) }

// BenchmarkSignatureCheck is the signature check alone, with the keyed HMAC
// reused: it allocates nothing.
func BenchmarkSignatureCheck(b *testing.B) {
	s := newSigner([]string{benchSecret})
	body := []byte(`{"event":"payment.completed","payment_id":"pay_1"}`)
	sig := Sign(benchSecret, body)
	b.ReportAllocs()
	for b.Loop() {
		if !s.check(sig, body) {
			b.Fatal("no match")
		}
	}
}
