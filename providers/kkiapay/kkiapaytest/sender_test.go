package kkiapaytest_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kkiapay"
	"github.com/payhook/payhook/providers/kkiapay/kkiapaytest"
)

// fields decodes a JSON body into raw fields.
func fields(t *testing.T, body []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &m), "%s", body)
	return m
}

func TestSender(t *testing.T) {
	p, err := kkiapay.New("hash_secret")
	require.NoError(t, err)
	sender := kkiapaytest.Sender{Secret: "hash_secret"}
	no := false
	tests := []struct {
		name  string
		event kkiapay.Event
	}{
		{"success", kkiapay.Event{
			TransactionID: "3iH6wjHJ3", Type: kkiapay.TransactionSuccess, Account: "22996000000", Label: "Order 42",
			Method: kkiapay.MobileMoney, Amount: payhook.MustAmount("1000"), Fees: payhook.MustAmount("19"),
			PartnerID: "order-42", PerformedAt: time.Date(2024, 3, 20, 8, 55, 22, 883e6, time.UTC),
			StateData: json.RawMessage(`{"order":42}`),
		}},
		{"failure", kkiapay.Event{
			TransactionID: "erjEU5P9o", Type: kkiapay.TransactionFailed, FailureCode: "processing_error",
			FailureMessage: "processing_error",
		}},
		{"success event that says the payment failed", kkiapay.Event{
			TransactionID: "t3", Type: kkiapay.TransactionSuccess, PaymentSucceeded: &no, Amount: payhook.MustAmount("5"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sender.Request("/webhooks/kkiapay", tt.event)
			assert.Equal(t, "hash_secret", r.Header.Get(kkiapay.SignatureHeader))
			got, err := payhooktest.Verify(p, r)
			require.NoError(t, err)
			want := tt.event
			if want.PaymentSucceeded == nil {
				ok := want.Type == kkiapay.TransactionSuccess
				want.PaymentSucceeded = &ok
			}
			if want.Fees.IsZero() {
				want.Fees = payhook.MustAmount("0")
			}
			if want.StateData == nil {
				want.StateData = json.RawMessage("{}")
			}
			assert.Equal(t, want, got)

			f := sender.Forged("/webhooks/kkiapay", tt.event)
			assert.NotEqual(t, "hash_secret", f.Header.Get(kkiapay.SignatureHeader))
			_, err = payhooktest.Verify(p, f)
			assert.ErrorIs(t, err, payhook.ErrInvalidSignature)
		})
	}
}

func TestSenderWireFormat(t *testing.T) {
	body := kkiapaytest.Sender{Secret: "s"}.Body(kkiapay.Event{
		TransactionID: "3iH6wjHJ3", Type: kkiapay.TransactionSuccess, Method: kkiapay.MobileMoney,
		Amount: payhook.MustAmount("1000"), Fees: payhook.MustAmount("19"),
		PerformedAt: time.Date(2024, 3, 20, 8, 55, 22, 883e6, time.UTC),
	})
	assert.JSONEq(t, `{"transactionId":"3iH6wjHJ3","isPaymentSucces":true,"account":null,"label":"","method":"MOBILE_MONEY",
		"amount":1000,"fees":19,"partnerId":"","performedAt":"2024-03-20T08:55:22.883Z","stateData":{},"event":"transaction.success"}`, string(body))

	m := fields(t, kkiapaytest.Sender{}.Body(kkiapay.Event{TransactionID: "t", Amount: payhook.MustAmount("007.50")}))
	assert.Equal(t, "7.5", string(m["amount"]), "an amount that is not a JSON number is sent in its canonical form")
}

// validText reports whether every s is text that JSON carries unchanged.
func validText(s ...string) bool {
	for _, v := range s {
		if !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

// FuzzRoundTrip: whatever the event, the provider reads the
// builder's webhook back as it was.
func FuzzRoundTrip(f *testing.F) {
	f.Add("3iH6wjHJ3", "transaction.success", "1000", "19", "22996000000", "label", "order-42", int64(1710924922883))
	f.Add("1", "transaction.failed", "0.5", "", "", "ü\x00", "", int64(0))
	p, err := kkiapay.New("s")
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, id, event, amount, fees, account, label, partner string, ms int64) {
		a, errA := payhook.ParseAmount(amount)
		fe, errF := payhook.ParseAmount(fees)
		if event != string(kkiapay.TransactionSuccess) && event != string(kkiapay.TransactionFailed) || errA != nil || strings.TrimSpace(id) == "" || ms < 0 || ms > 1e14 || !validText(id, event, account, label, partner) {
			t.Skip()
		}
		if errF != nil {
			fe = payhook.MustAmount("0")
		}
		e := kkiapay.Event{TransactionID: id, Type: kkiapay.EventType(event), Amount: a, Fees: fe, Account: account,
			Label: label, PartnerID: partner, StateData: []byte("{}")}
		if ms > 0 {
			e.PerformedAt = time.UnixMilli(ms).UTC()
		}
		r := kkiapaytest.Sender{Secret: "s"}.Request("/", e)
		got, err := payhooktest.Verify(p, r)
		require.NoError(t, err)
		require.NotNil(t, got.PaymentSucceeded)
		assert.Equal(t, e.Type == kkiapay.TransactionSuccess, *got.PaymentSucceeded)
		got.PaymentSucceeded = nil
		assert.True(t, e.Amount.Equal(got.Amount), "%s != %s", e.Amount, got.Amount)
		assert.True(t, e.Fees.Equal(got.Fees), "%s != %s", e.Fees, got.Fees)
		got.Amount, got.Fees, e.Amount, e.Fees = payhook.Amount{}, payhook.Amount{}, payhook.Amount{}, payhook.Amount{}
		assert.Equal(t, e, got)
	})
}
