package kasperopay

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

const fuzzSeed = `{"event":"payment.completed","timestamp":"2026-01-30T15:30:00.000Z","merchant_id":"kpm_abc123","payment_id":"pay_xyz789",` +
	`"order_id":"ord_456","amount_kas":"150.5","amount_usd":"15.05","transaction_id":"abc123def456","customer_address":"kaspa:qr...",` +
	`"items":[{"name":"T-Shirt","quantity":1,"price":"15.05"}],"item":"T-Shirt","metadata":{}}`

// FuzzDecode checks that no body panics the webhook decoder and that what
// it accepts has what the middleware needs and encodes back to JSON.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		fuzzSeed, `{}`, `{"event":"x","payment_id":"p"}`, `{"event":"x","payment_id":7,"amount_kas":1e3}`,
		`{"event":"x","payment_id":"..","items":"a"}`, `{"event":"x","payment_id":"p","timestamp":1769787000000}`,
		`{"event":"x","payment_id":"p","items":[1,{"quantity":"2"}],"metadata":"{\"a\":1}"}`, `[]`, `{"amount_kas":""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := decode(body)
		if err != nil {
			return
		}
		if e.PaymentID == "" || e.Type == "" || checkID(e.PaymentID) != nil {
			t.Fatalf("accepted an event without a usable payment id or event: %+v", e)
		}
		if _, err := json.Marshal(e); err != nil {
			t.Fatalf("accepted event does not encode: %v", err)
		}
		var v any
		_ = e.DecodeMetadata(&v)
	})
}

// FuzzVerify checks the signature mode: nothing panics, and nothing is
// accepted unless its signature is the HMAC of the body.
func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 1, 30, 15, 30, 0, 0, time.UTC)
	p, err := New(WithSecrets("whsec_fuzz"), WithoutConfirmation(), WithClock(func() time.Time { return now }))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(fuzzSeed), Sign("whsec_fuzz", []byte(fuzzSeed)))
	f.Add([]byte(fuzzSeed), strings.ToUpper(Sign("whsec_fuzz", []byte(fuzzSeed))))
	f.Add([]byte(fuzzSeed), "sha256="+Sign("whsec_fuzz", []byte(fuzzSeed)))
	f.Add([]byte(`{}`), Sign("whsec_fuzz", []byte(`{}`)))
	f.Add([]byte(fuzzSeed), "")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		e, err := p.Verify(context.Background(), http.Header{"X-Kasperopay-Signature": {sig}}, body)
		if err != nil {
			return
		}
		want := Sign("whsec_fuzz", body)
		got := strings.TrimSpace(sig)
		if len(got) > 7 && strings.EqualFold(got[:7], "sha256=") {
			got = got[7:]
		}
		if strings.ToLower(got) != want {
			t.Fatalf("accepted signature %q for a body whose HMAC is %s", sig, want)
		}
		if !e.Signed || e.PaymentID == "" {
			t.Fatalf("accepted event not marked signed or without id: %+v", e)
		}
	})
}

// FuzzDecodePayment checks the status answer decoder: nothing panics, and
// a payment it returns has a status.
func FuzzDecodePayment(f *testing.F) {
	for _, s := range []string{
		`{"payment_id":"pay_abc123","status":"completed","amount_kas":25.5,"amount_usd":2.55,"txid":"abc123","store_name":"Your Store","confirmed_at":"2025-01-19T12:00:00Z","expires_at":"2025-01-19T12:15:00Z"}`,
		`{"error":"Payment not found"}`, `<html>`, ``, `{"status":""}`, `{"status":"pending","expires_at":1e20}`,
	} {
		f.Add(200, []byte(s))
		f.Add(404, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		p, err := decodePayment(status, body)
		if err == nil && p.Status == "" {
			t.Fatalf("payment without a status from %d %q", status, body)
		}
	})
}
