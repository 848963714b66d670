package payhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/decimal"
	"github.com/payhook/payhook/internal/jsonx"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

// The merchant's credentials in FuzzMiddleware.
const (
	fuzzKey, fuzzSecret = "kw_key", "kw_secret"
	fuzzHash            = "kk_hash"
	fuzzWebhookSecret   = "kp_whsec"
)

var fuzzNow = time.Date(2026, 1, 30, 15, 30, 0, 0, time.UTC)

// fuzzTarget is one provider behind payhook.Handle, with an oracle that
// says, independently of the provider's code, whether a request carries a
// valid signature.
type fuzzTarget struct {
	h     http.Handler
	valid func(h http.Header, body []byte) bool
}

func fuzzTargets(f *testing.F) []fuzzTarget {
	kw, err := kazawallet.New(fuzzKey, fuzzSecret)
	if err != nil {
		f.Fatal(err)
	}
	kk, err := kkiapay.New(fuzzHash)
	if err != nil {
		f.Fatal(err)
	}
	kp, err := kasperopay.New(kasperopay.WithSecrets(fuzzWebhookSecret), kasperopay.WithoutConfirmation(),
		kasperopay.WithClock(func() time.Time { return fuzzNow }))
	if err != nil {
		f.Fatal(err)
	}
	ok := func(context.Context, any) error { return nil }
	return []fuzzTarget{
		{payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error { return ok(ctx, e) }), kazawalletSigned},
		{payhook.Handle(kk, func(ctx context.Context, e kkiapay.Event) error { return ok(ctx, e) }), func(h http.Header, _ []byte) bool {
			return anyValue(h, kkiapay.SignatureHeader, func(v string) bool { return v == fuzzHash })
		}},
		{payhook.Handle(kp, func(ctx context.Context, e kasperopay.Event) error { return ok(ctx, e) }), func(h http.Header, body []byte) bool {
			return anyValue(h, kasperopay.SignatureHeader, func(v string) bool {
				sig := strings.ToLower(strings.TrimSpace(v))
				return strings.TrimPrefix(sig, "sha256=") == kasperopay.Sign(fuzzWebhookSecret, body)
			})
		}},
	}
}

// anyValue reports whether a header named name in any case has a value
// for which ok holds.
func anyValue(h http.Header, name string, ok func(string) bool) bool {
	for k, vs := range h {
		if strings.EqualFold(k, name) {
			for _, v := range vs {
				if ok(v) {
					return true
				}
			}
		}
	}
	return false
}

// kazawalletSigned reads the body as loosely as anything could (JSON or a
// form) and reports whether its secret is Kazawallet's signature of its
// order id and of its amount as received, to two decimals, or shortest.
func kazawalletSigned(_ http.Header, body []byte) bool {
	fields := map[string]string{}
	if jsonx.IsJSON(body) {
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) != nil {
			return false
		}
		for k, raw := range m {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				fields[k] = s
			} else {
				fields[k] = string(bytes.TrimSpace(raw))
			}
		}
	} else if form, err := url.ParseQuery(string(body)); err == nil {
		for k := range form {
			fields[k] = form.Get(k)
		}
	}
	id := fields["order_id"]
	if id == "" {
		id = fields["id"]
	}
	amount := fields["amount"]
	secret := strings.ReplaceAll(fields["secret"], " ", "+")
	short, _ := decimal.Canonical(amount)
	fixed, _ := decimal.Fixed(amount, 2)
	for _, a := range []string{amount, short, fixed} {
		if a != "" && secret == kazawallet.Sign(fuzzKey, fuzzSecret, a, id) {
			return true
		}
	}
	return false
}

// FuzzMiddleware (issue 8, finding 9) sends random headers and bodies
// through the whole middleware path of each provider: it never panics, and
// never answers 2xx unless the request carries a valid signature.
func FuzzMiddleware(f *testing.F) {
	kwBody := `{"order_id":"ord_1","amount":"10.00","secret":"` + kazawallet.Sign(fuzzKey, fuzzSecret, "10.00", "ord_1") +
		`","ref":"r","status":"fulfilled","currency":"USD"}`
	kwForm := "order_id=ord_2&amount=10&secret=" + url.QueryEscape(kazawallet.Sign(fuzzKey, fuzzSecret, "10.00", "ord_2")) + "&status=fulfilled"
	kkBody := `{"transactionId":"tx_1","isPaymentSucces":true,"amount":1000,"fees":19,"event":"transaction.success","stateData":{}}`
	kpBody := `{"event":"payment.completed","timestamp":"2026-01-30T15:30:00.000Z","payment_id":"pay_1","amount_kas":"150.5","items":[{"name":"x","quantity":1}],"metadata":{}}`
	f.Add(uint8(0), "Content-Type", "application/json", []byte(kwBody))
	f.Add(uint8(0), "Content-Type", "application/x-www-form-urlencoded", []byte(kwForm))
	f.Add(uint8(0), "X-Other", "1", []byte(strings.Replace(kwBody, "10.00", "1000.00", 1)))
	f.Add(uint8(1), "x-kkiapay-secret", fuzzHash, []byte(kkBody))
	f.Add(uint8(1), "X-Kkiapay-Secret", "wrong", []byte(kkBody))
	f.Add(uint8(2), kasperopay.SignatureHeader, kasperopay.Sign(fuzzWebhookSecret, []byte(kpBody)), []byte(kpBody))
	f.Add(uint8(2), kasperopay.SignatureHeader, "sha256="+strings.ToUpper(kasperopay.Sign(fuzzWebhookSecret, []byte(kpBody))), []byte(kpBody))
	f.Add(uint8(2), kasperopay.SignatureHeader, "00", []byte(kpBody))
	targets := fuzzTargets(f)
	f.Fuzz(func(t *testing.T, which uint8, name, value string, body []byte) {
		target := targets[int(which)%len(targets)]
		r := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
		r.Header[name] = []string{value} // as a server would have it, or not: any name
		w := httptest.NewRecorder()
		target.h.ServeHTTP(w, r)
		if w.Code >= 200 && w.Code < 300 && !target.valid(r.Header, body) {
			t.Fatalf("answered %d without a valid signature: header %q: %q, body %q", w.Code, name, value, body)
		}
	})
}
