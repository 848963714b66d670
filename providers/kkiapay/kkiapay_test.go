package kkiapay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kkiapay"
)

const hashSecret = "test_hash_secret"

// The bodies of PROVIDERS.md.
const (
	successBody = `{"transactionId":"3iH6wjHJ3","isPaymentSucces":true,"account":"22996000000","label":"Order 42",` +
		`"method":"MOBILE_MONEY","amount":1000,"fees":19,"partnerId":"",` +
		`"performedAt":"2024-03-20T08:55:22.883Z","stateData":{},"event":"transaction.success"}`
	failureBody = `{"transactionId":"erjEU5P9o","isPaymentSucces":false,"failureCode":"processing_error",` +
		`"failureMessage":"processing_error","event":"transaction.failed"}`
)

func signed(secret string) http.Header {
	h := http.Header{}
	h.Set(kkiapay.SignatureHeader, kkiapay.Sign(secret))
	return h
}

func mustNew(t testing.TB, opts ...kkiapay.Option) *kkiapay.Provider {
	t.Helper()
	p, err := kkiapay.New(hashSecret, opts...)
	require.NoError(t, err)
	return p
}

// with returns the success body with its fields changed: a nil value
// deletes the field, a json.RawMessage is put in as it is.
func with(t testing.TB, changes map[string]any) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(successBody), &m))
	for k, v := range changes {
		if v == nil {
			delete(m, k)
			continue
		}
		raw, ok := v.(json.RawMessage)
		if !ok {
			var err error
			raw, err = json.Marshal(v)
			require.NoError(t, err)
		}
		m[k] = raw
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

type raw = json.RawMessage

func TestVerify(t *testing.T) {
	p := mustNew(t)
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return tm
	}

	tests := []struct {
		name    string
		body    []byte
		wantErr error
		check   func(t *testing.T, e kkiapay.Event)
	}{
		{
			name: "success, as documented",
			body: []byte(successBody),
			check: func(t *testing.T, e kkiapay.Event) {
				assert.Equal(t, "3iH6wjHJ3", e.TransactionID)
				assert.Equal(t, kkiapay.TransactionSuccess, e.Type)
				assert.True(t, e.Paid())
				require.NotNil(t, e.PaymentSucceeded)
				assert.True(t, *e.PaymentSucceeded)
				assert.Equal(t, "22996000000", e.Account)
				assert.Equal(t, "Order 42", e.Label)
				assert.Equal(t, kkiapay.MobileMoney, e.Method)
				assert.Equal(t, "1000", e.Amount.String())
				assert.Equal(t, "19", e.Fees.String())
				assert.Empty(t, e.PartnerID)
				assert.True(t, utc("2024-03-20T08:55:22.883Z").Equal(e.PerformedAt), e.PerformedAt)
				assert.JSONEq(t, `{}`, string(e.StateData))
				assert.Empty(t, e.FailureCode)
				assert.Nil(t, e.Confirmation)
			},
		},
		{
			name: "failure, as documented",
			body: []byte(failureBody),
			check: func(t *testing.T, e kkiapay.Event) {
				assert.Equal(t, "erjEU5P9o", e.TransactionID)
				assert.Equal(t, kkiapay.TransactionFailed, e.Type)
				assert.False(t, e.Paid())
				assert.Equal(t, "processing_error", e.FailureCode)
				assert.Equal(t, "processing_error", e.FailureMessage)
				assert.True(t, e.Amount.IsZero())
				assert.True(t, e.PerformedAt.IsZero())
				assert.Nil(t, e.StateData)
			},
		},
		{
			name: "failure carrying the success fields, fees 0",
			body: with(t, map[string]any{"event": "transaction.failed", "isPaymentSucces": false, "fees": 0,
				"failureCode": "insufficient_fund", "failureMessage": "Solde insuffisant"}),
			check: func(t *testing.T, e kkiapay.Event) {
				assert.False(t, e.Paid())
				assert.Equal(t, "1000", e.Amount.String())
				assert.Equal(t, "0", e.Fees.String())
				assert.False(t, e.Fees.IsZero(), "0 is an amount")
				assert.Equal(t, "insufficient_fund", e.FailureCode)
				assert.Equal(t, "Solde insuffisant", e.FailureMessage)
			},
		},
		{
			name:  "account null",
			body:  with(t, map[string]any{"account": raw(`null`)}),
			check: func(t *testing.T, e kkiapay.Event) { assert.Empty(t, e.Account) },
		},
		{
			name: "stateData object",
			body: with(t, map[string]any{"stateData": raw(`{"orderId":"ord_42","items":[1,2]}`)}),
			check: func(t *testing.T, e kkiapay.Event) {
				assert.JSONEq(t, `{"orderId":"ord_42","items":[1,2]}`, string(e.StateData))
			},
		},
		{
			name: "stateData as a JSON-encoded string",
			body: with(t, map[string]any{"stateData": `{"orderId":"ord_42","items":[1,2]}`}),
			check: func(t *testing.T, e kkiapay.Event) {
				assert.JSONEq(t, `{"orderId":"ord_42","items":[1,2]}`, string(e.StateData))
			},
		},
		{
			name:  "stateData as a JSON-encoded string with spaces",
			body:  with(t, map[string]any{"stateData": " { \"orderId\" : \"ord_42\" } "}),
			check: func(t *testing.T, e kkiapay.Event) { assert.JSONEq(t, `{"orderId":"ord_42"}`, string(e.StateData)) },
		},
		{
			name:  "stateData absent",
			body:  with(t, map[string]any{"stateData": nil}),
			check: func(t *testing.T, e kkiapay.Event) { assert.Nil(t, e.StateData) },
		},
		{
			name:  "stateData null",
			body:  with(t, map[string]any{"stateData": raw(`null`)}),
			check: func(t *testing.T, e kkiapay.Event) { assert.Nil(t, e.StateData) },
		},
		{
			name:  "stateData empty string",
			body:  with(t, map[string]any{"stateData": ""}),
			check: func(t *testing.T, e kkiapay.Event) { assert.Nil(t, e.StateData) },
		},
		{
			name:  "stateData a plain string is kept as a JSON string",
			body:  with(t, map[string]any{"stateData": "ord_42"}),
			check: func(t *testing.T, e kkiapay.Event) { assert.Equal(t, `"ord_42"`, string(e.StateData)) },
		},
		{
			name:  "stateData a string holding broken JSON is kept as a JSON string",
			body:  with(t, map[string]any{"stateData": `{"orderId":`}),
			check: func(t *testing.T, e kkiapay.Event) { assert.Equal(t, `"{\"orderId\":"`, string(e.StateData)) },
		},
		{
			name:  "stateData a number",
			body:  with(t, map[string]any{"stateData": 42}),
			check: func(t *testing.T, e kkiapay.Event) { assert.Equal(t, `42`, string(e.StateData)) },
		},
		{
			name:  "success with isPaymentSucces false is not a success",
			body:  with(t, map[string]any{"isPaymentSucces": false}),
			check: func(t *testing.T, e kkiapay.Event) { assert.False(t, e.Paid()) },
		},
		{
			name: "success without isPaymentSucces",
			body: with(t, map[string]any{"isPaymentSucces": nil}),
			check: func(t *testing.T, e kkiapay.Event) {
				assert.Nil(t, e.PaymentSucceeded)
				assert.True(t, e.Paid())
			},
		},
		{
			name: "isPaymentSucces as a string",
			body: with(t, map[string]any{"isPaymentSucces": "false"}),
			check: func(t *testing.T, e kkiapay.Event) {
				require.NotNil(t, e.PaymentSucceeded)
				assert.False(t, *e.PaymentSucceeded)
			},
		},
		{
			name:  "isPaymentSucces of no known form is unknown",
			body:  with(t, map[string]any{"isPaymentSucces": map[string]int{"x": 1}}),
			check: func(t *testing.T, e kkiapay.Event) { assert.Nil(t, e.PaymentSucceeded); assert.True(t, e.Paid()) },
		},
		{
			name: "big amount stays exact",
			body: with(t, map[string]any{"amount": raw(`123456789012345678901234567890`)}),
			check: func(t *testing.T, e kkiapay.Event) {
				assert.Equal(t, "123456789012345678901234567890", e.Amount.String())
			},
		},
		{
			name: "decimal amount keeps its text",
			body: with(t, map[string]any{"amount": raw(`1000.50`), "fees": raw(`19.05`)}),
			check: func(t *testing.T, e kkiapay.Event) {
				assert.Equal(t, "1000.50", e.Amount.String())
				assert.True(t, e.Amount.Equal(payhook.MustAmount("1000.5")))
				assert.Equal(t, "19.05", e.Fees.String())
			},
		},
		{
			name:  "amount as a string",
			body:  with(t, map[string]any{"amount": "1000"}),
			check: func(t *testing.T, e kkiapay.Event) { assert.Equal(t, "1000", e.Amount.String()) },
		},
		{
			name:  "amount in exponent form",
			body:  with(t, map[string]any{"amount": raw(`1e3`)}),
			check: func(t *testing.T, e kkiapay.Event) { assert.True(t, e.Amount.Equal(payhook.MustAmount("1000"))) },
		},
		{
			name: "fees of no known form are zero, the payment is kept",
			body: with(t, map[string]any{"fees": "n/a"}),
			check: func(t *testing.T, e kkiapay.Event) {
				assert.True(t, e.Fees.IsZero())
				assert.Equal(t, "1000", e.Amount.String())
			},
		},
		{
			name: "descriptive fields of unexpected types are zero, the payment is kept",
			body: with(t, map[string]any{"label": map[string]int{"a": 1}, "account": []int{1}, "partnerId": 77, "method": true,
				"failureCode": raw(`null`)}),
			check: func(t *testing.T, e kkiapay.Event) {
				assert.Empty(t, e.Label)
				assert.Empty(t, e.Account)
				assert.Equal(t, "77", e.PartnerID)
				assert.Equal(t, kkiapay.Method("true"), e.Method)
				assert.True(t, e.Paid())
			},
		},
		{
			name:  "numeric transactionId",
			body:  with(t, map[string]any{"transactionId": raw(`6516521598463777`)}),
			check: func(t *testing.T, e kkiapay.Event) { assert.Equal(t, "6516521598463777", e.TransactionID) },
		},
		{
			name: "escaped strings",
			body: with(t, map[string]any{"label": raw(`"Commande \u00e9t\u00e9 \"42\""`), "transactionId": raw(`"a\u00e9b"`)}),
			check: func(t *testing.T, e kkiapay.Event) {
				assert.Equal(t, `Commande été "42"`, e.Label)
				assert.Equal(t, "aéb", e.TransactionID)
			},
		},
		{
			name: "unknown fields and other methods kept or ignored",
			body: with(t, map[string]any{"fullname": "x", "nested": map[string]any{"a": []int{1}}, "method": "CARD"}),
			check: func(t *testing.T, e kkiapay.Event) {
				assert.Equal(t, kkiapay.Card, e.Method)
				assert.Equal(t, "3iH6wjHJ3", e.TransactionID)
			},
		},
		{
			name:  "leading white space",
			body:  []byte("\n\t " + successBody),
			check: func(t *testing.T, e kkiapay.Event) { assert.Equal(t, "3iH6wjHJ3", e.TransactionID) },
		},

		{name: "no transactionId", body: with(t, map[string]any{"transactionId": nil}), wantErr: payhook.ErrMalformed},
		{name: "null transactionId", body: with(t, map[string]any{"transactionId": raw(`null`)}), wantErr: payhook.ErrMalformed},
		{name: "empty transactionId", body: with(t, map[string]any{"transactionId": ""}), wantErr: payhook.ErrMalformed},
		{name: "blank transactionId", body: with(t, map[string]any{"transactionId": "  "}), wantErr: payhook.ErrMalformed},
		{name: "object transactionId", body: with(t, map[string]any{"transactionId": map[string]int{"a": 1}}), wantErr: payhook.ErrMalformed},
		{name: "boolean transactionId", body: with(t, map[string]any{"transactionId": true}), wantErr: payhook.ErrMalformed},
		{name: "amount not a number", body: with(t, map[string]any{"amount": "mille"}), wantErr: payhook.ErrMalformed},
		{name: "amount an object", body: with(t, map[string]any{"amount": map[string]int{"value": 1000}}), wantErr: payhook.ErrMalformed},
		{name: "amount with a comma", body: with(t, map[string]any{"amount": "1000,50"}), wantErr: payhook.ErrMalformed},
		{name: "event not a string", body: with(t, map[string]any{"event": 1}), wantErr: payhook.ErrMalformed},
		// Issue 8, finding 1: only the events KKiaPay documents.
		{name: "forged event type: undocumented event", body: with(t, map[string]any{"event": "transaction.pending"}), wantErr: payhook.ErrMalformed},
		{name: "forged event type: another undocumented event", body: with(t, map[string]any{"event": "transaction.refunded"}), wantErr: payhook.ErrMalformed},
		{name: "forged event type: event in capitals", body: with(t, map[string]any{"event": "TRANSACTION.SUCCESS"}), wantErr: payhook.ErrMalformed},
		{name: "forged event type: no event", body: with(t, map[string]any{"event": nil}), wantErr: payhook.ErrMalformed},
		{name: "broken JSON", body: []byte(`{"transactionId":"x",`), wantErr: payhook.ErrMalformed},
		{name: "JSON array", body: []byte(`[` + successBody + `]`), wantErr: payhook.ErrMalformed},
		{name: "JSON null", body: []byte(`null`), wantErr: payhook.ErrMalformed},
		{name: "JSON string", body: []byte(`"3iH6wjHJ3"`), wantErr: payhook.ErrMalformed},
		{name: "form body", body: []byte(`transactionId=3iH6wjHJ3&event=transaction.success`), wantErr: payhook.ErrMalformed},
		{name: "empty body", body: nil, wantErr: payhook.ErrMalformed},
		{name: "trailing garbage", body: []byte(successBody + `}`), wantErr: payhook.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := p.Verify(context.Background(), signed(hashSecret), tt.body)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Contains(t, err.Error(), "kkiapay")
				assert.Equal(t, kkiapay.Event{}, e)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, e.TransactionID, p.Key(e))
			tt.check(t, e)
		})
	}
}

func TestVerifyPerformedAtFormats(t *testing.T) {
	p := mustNew(t)
	tests := []struct {
		name, value string // value is JSON
		want        time.Time
	}{
		{"ISO 8601, Z, milliseconds", `"2024-03-20T08:55:22.883Z"`, time.Date(2024, 3, 20, 8, 55, 22, 883e6, time.UTC)},
		{"ISO 8601, Z, seconds", `"2024-03-20T08:55:22Z"`, time.Date(2024, 3, 20, 8, 55, 22, 0, time.UTC)},
		{"ISO 8601 with an offset", `"2024-03-20T09:55:22.883+01:00"`, time.Date(2024, 3, 20, 8, 55, 22, 883e6, time.UTC)},
		{"ISO 8601 without a zone is UTC", `"2024-03-20T08:55:22.883"`, time.Date(2024, 3, 20, 8, 55, 22, 883e6, time.UTC)},
		{"space-separated", `"2024-03-20 08:55:22"`, time.Date(2024, 3, 20, 8, 55, 22, 0, time.UTC)},
		{"date only", `"2024-03-20"`, time.Date(2024, 3, 20, 0, 0, 0, 0, time.UTC)},
		{"dd/mm/yyyy, as the status API's performedAt", `"20/03/2024"`, time.Date(2024, 3, 20, 0, 0, 0, 0, time.UTC)},
		{"dd/mm/yyyy hh:mm:ss", `"20/03/2024 08:55:22"`, time.Date(2024, 3, 20, 8, 55, 22, 0, time.UTC)},
		{"mm/dd/yyyy is not guessed", `"03/20/2024"`, time.Time{}},
		{"garbage is zero", `"yesterday"`, time.Time{}},
		{"a number is Unix milliseconds", `1710924922883`, time.Date(2024, 3, 20, 8, 55, 22, 883e6, time.UTC)},
		{"null is zero", `null`, time.Time{}},
		{"empty is zero", `""`, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := p.Verify(context.Background(), signed(hashSecret), with(t, map[string]any{"performedAt": raw(tt.value)}))
			require.NoError(t, err, "a time of no known form never loses the payment")
			assert.True(t, tt.want.Equal(e.PerformedAt), "got %v", e.PerformedAt)
		})
	}
}

func TestVerifyHeader(t *testing.T) {
	p := mustNew(t)
	body := []byte(successBody)
	tests := []struct {
		name    string
		header  http.Header
		body    []byte
		wantErr error
	}{
		{name: "canonical", header: signed(hashSecret)},
		{name: "lower case, in a map not built by net/http", header: http.Header{"x-kkiapay-secret": {hashSecret}}},
		{name: "upper case, in a map not built by net/http", header: http.Header{"X-KKIAPAY-SECRET": {hashSecret}}},
		{name: "repeated with the same value", header: http.Header{kkiapay.SignatureHeader: {hashSecret, hashSecret}}},

		{name: "missing", header: http.Header{}, wantErr: payhook.ErrInvalidSignature},
		{name: "nil header", header: nil, wantErr: payhook.ErrInvalidSignature},
		{name: "empty", header: signed(""), wantErr: payhook.ErrInvalidSignature},
		{name: "wrong", header: signed("test_hash_secreT"), wantErr: payhook.ErrInvalidSignature},
		{name: "prefix of the secret", header: signed(hashSecret[:len(hashSecret)-1]), wantErr: payhook.ErrInvalidSignature},
		{name: "secret with more after it", header: signed(hashSecret + "x"), wantErr: payhook.ErrInvalidSignature},
		{name: "other header holds it", header: http.Header{"X-Kkiapay-Signature": {hashSecret}}, wantErr: payhook.ErrInvalidSignature},
		{name: "repeated, the wrong value first", header: http.Header{kkiapay.SignatureHeader: {"nope", hashSecret}}, wantErr: payhook.ErrInvalidSignature},
		{name: "repeated, the right value first", header: http.Header{kkiapay.SignatureHeader: {hashSecret, "nope"}}, wantErr: payhook.ErrInvalidSignature},
		{name: "repeated under two spellings", header: http.Header{"x-kkiapay-secret": {hashSecret}, "X-KKIAPAY-SECRET": {"nope"}}, wantErr: payhook.ErrInvalidSignature},
		{name: "the header is checked before the body", header: signed("nope"), body: []byte(`not json`), wantErr: payhook.ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := body
			if tt.body != nil {
				b = tt.body
			}
			e, err := p.Verify(context.Background(), tt.header, b)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.NotContains(t, err.Error(), hashSecret)
				assert.Equal(t, kkiapay.Event{}, e)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "3iH6wjHJ3", e.TransactionID)
		})
	}
}

func TestRotation(t *testing.T) {
	p, err := kkiapay.New("old_secret", kkiapay.WithSecrets("new_secret", "newer_secret"))
	require.NoError(t, err)
	for _, tt := range []struct {
		secret string
		ok     bool
	}{{"old_secret", true}, {"new_secret", true}, {"newer_secret", true}, {"other_secret", false}, {hashSecret, false}} {
		t.Run(tt.secret, func(t *testing.T) {
			_, err := p.Verify(context.Background(), signed(tt.secret), []byte(successBody))
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, payhook.ErrInvalidSignature)
			}
		})
	}
}

func TestSecretsTrimmed(t *testing.T) {
	// net/http drops a header value's surrounding white space, so a secret
	// configured with it would otherwise never match.
	p, err := kkiapay.New("  padded_secret\n")
	require.NoError(t, err)
	_, err = p.Verify(context.Background(), signed("padded_secret"), []byte(successBody))
	assert.NoError(t, err)
}

func TestNewRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		opts   []kkiapay.Option
		want   string
	}{
		{"empty secret", "", nil, "empty hash secret"},
		{"blank secret", " \t", nil, "empty hash secret"},
		{"empty rotated secret", hashSecret, []kkiapay.Option{kkiapay.WithSecrets("new", "")}, "empty hash secret"},
		{"nil confirmation client", hashSecret, []kkiapay.Option{kkiapay.WithConfirmation(nil)}, "WithConfirmation(nil)"},
		{"no confirmations at once", hashSecret, []kkiapay.Option{kkiapay.WithConcurrentConfirmations(0)}, "WithConcurrentConfirmations(0): not positive"},
		{"negative answer TTL", hashSecret, []kkiapay.Option{kkiapay.WithAnswerTTL(-time.Second)}, "WithAnswerTTL(-1s): not positive"},
		{"nil clock", hashSecret, []kkiapay.Option{kkiapay.WithClock(nil)}, "WithClock(nil)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := kkiapay.New(tt.secret, tt.opts...)
			require.ErrorIs(t, err, payhook.ErrConfig)
			assert.Contains(t, err.Error(), tt.want)
			assert.Nil(t, p)
		})
	}
}

func TestNewClientRefusesBadOptions(t *testing.T) {
	for name, opt := range map[string]kkiapay.ClientOption{
		"WithTimeout(0s): not positive": kkiapay.WithTimeout(0),
		"WithHTTPClient(nil)":           kkiapay.WithHTTPClient(nil),
	} {
		t.Run(name, func(t *testing.T) {
			cl, err := kkiapay.NewClient("pub", "priv", "sec", opt)
			require.ErrorIs(t, err, payhook.ErrConfig)
			assert.Contains(t, err.Error(), name)
			assert.Nil(t, cl)
		})
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	const secret, pub, priv, sec = "hash-9f2d1a", "pub-1c7e", "priv-8b3a", "sec-55d0"
	cl, err := kkiapay.NewClient(pub, priv, sec, kkiapay.WithBaseURL("https://proxy-user:proxy-pass@api.example"))
	require.NoError(t, err)
	p, err := kkiapay.New(secret, kkiapay.WithSecrets("hash-rotated"), kkiapay.WithConfirmation(cl))
	require.NoError(t, err)
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		slog.New(h).Info("configured", "provider", p, "client", cl)
	}
	outs := []string{logs.String()}
	for _, v := range []any{p, *p, cl, *cl} {
		outs = append(outs, fmt.Sprint(v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v))
	}
	for _, out := range outs {
		for _, s := range []string{secret, "hash-rotated", pub, priv, sec, "proxy-pass"} {
			assert.NotContains(t, out, s)
		}
	}
	assert.Contains(t, logs.String(), "REDACTED")
	assert.Contains(t, p.String(), "api.example", "the API's address is shown")

	_, err = p.Verify(context.Background(), signed("hash-9f2d1b"), []byte(successBody))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), secret)
}

func TestEventJSON(t *testing.T) {
	e, err := mustNew(t).Verify(context.Background(), signed(hashSecret), with(t, map[string]any{"stateData": `{"orderId":"ord_42"}`}))
	require.NoError(t, err)
	out, err := json.Marshal(e)
	require.NoError(t, err)
	assert.JSONEq(t, `{"transactionId":"3iH6wjHJ3","event":"transaction.success","isPaymentSucces":true,"account":"22996000000",
		"label":"Order 42","method":"MOBILE_MONEY","amount":"1000","fees":"19","partnerId":"",
		"performedAt":"2024-03-20T08:55:22.883Z","stateData":{"orderId":"ord_42"}}`, string(out))
	assert.NotContains(t, string(out), hashSecret)

	var back kkiapay.Event
	require.NoError(t, json.Unmarshal(out, &back), "an Event reads back its own JSON")
	assert.Equal(t, e.TransactionID, back.TransactionID)
	assert.True(t, e.Amount.Equal(back.Amount))
}

func TestDecodeStateData(t *testing.T) {
	p := mustNew(t)
	type order struct {
		OrderID string `json:"orderId"`
		Qty     int    `json:"qty"`
	}
	for _, tt := range []struct {
		name  string
		state any
		want  order
		err   bool
	}{
		{"object", raw(`{"orderId":"ord_1","qty":2}`), order{"ord_1", 2}, false},
		{"JSON-encoded string", `{"orderId":"ord_1","qty":2}`, order{"ord_1", 2}, false},
		{"absent leaves v unchanged", nil, order{"keep", 9}, false},
		{"plain string into a struct", "ord_1", order{"keep", 9}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, err := p.Verify(context.Background(), signed(hashSecret), with(t, map[string]any{"stateData": tt.state}))
			require.NoError(t, err)
			got := order{"keep", 9}
			err = e.DecodeStateData(&got)
			if tt.err {
				assert.ErrorContains(t, err, "kkiapay: decoding stateData")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestEventFrom(t *testing.T) {
	_, ok := kkiapay.EventFrom(context.Background())
	assert.False(t, ok)
}

func errorsIsAny(err error, targets ...error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

func FuzzVerify(f *testing.F) {
	p := mustNew(f)
	f.Add([]byte(successBody), hashSecret)
	f.Add([]byte(failureBody), hashSecret)
	f.Add([]byte(`{"transactionId":1,"stateData":"{\"a\":[1]}","amount":"1e3","fees":{},"performedAt":"20/03/2024"}`), hashSecret)
	f.Add([]byte(`{"transactionId":{"a":1}}`), hashSecret)
	f.Add([]byte(successBody), "wrong")
	f.Fuzz(func(t *testing.T, body []byte, secret string) {
		e, err := p.Verify(context.Background(), http.Header{kkiapay.SignatureHeader: {secret}}, body)
		if err != nil {
			if !strings.Contains(err.Error(), "kkiapay") {
				t.Errorf("error %q does not name the provider", err)
			}
			if !errorsIsAny(err, payhook.ErrInvalidSignature, payhook.ErrMalformed) {
				t.Errorf("error %q wraps no sentinel", err)
			}
			return
		}
		// Anything accepted came with the secret, has a key, and its state
		// data, if any, is valid JSON.
		require.Equal(t, hashSecret, secret)
		require.NotEmpty(t, strings.TrimSpace(p.Key(e)))
		if e.StateData != nil {
			require.True(t, json.Valid(e.StateData), "%q", e.StateData)
		}
		_, err = json.Marshal(e)
		require.NoError(t, err)
	})
}

// TestDuplicateKeysRefused (issue 8, finding 3): a body with a duplicate
// key, or a key that matches a field only by case, is 400, so that no
// application reading the body can see another amount or event than the
// one confirmed.
func TestDuplicateKeysRefused(t *testing.T) {
	p := mustNew(t)
	for _, tt := range []struct{ name, body string }{
		{"second amount", `{"transactionId":"tx_1","event":"transaction.success","amount":1000,"amount":100000}`},
		{"second event", `{"transactionId":"tx_1","event":"transaction.failed","event":"transaction.success"}`},
		{"transactionId in capitals", `{"transactionId":"tx_1","TRANSACTIONID":"tx_2","event":"transaction.success"}`},
		{"event only by case", `{"transactionId":"tx_1","Event":"transaction.success"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Verify(context.Background(), signed(hashSecret), []byte(tt.body))
			assert.ErrorIs(t, err, payhook.ErrMalformed)
		})
	}
}
