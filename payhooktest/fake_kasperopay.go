package payhooktest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/payhook/payhook/providers/kasperopay"
)

// KasperoPayAPI is a fake of KasperoPay's status API, an httptest server:
// GET /pay/status/{payment_id} answers the payment's [Answer]; by default
// [NotFound] (404 {"error":"Payment not found"}).
// [KasperoPayAPI.Confirm] makes it confirm a webhook's event; [Payment]
// answers any payment (pending, another amount), in the API's wire format:
// amounts as JSON numbers, the transaction id as txid. Another path or
// method is answered 404 with an HTML "Cannot GET ..." page, as
// KasperoPay's server answers.
//
// It records every call ([KasperoPayAPI.Calls]). It is safe for concurrent
// use.
type KasperoPayAPI struct{ f fake }

// NewKasperoPayAPI starts a fake of KasperoPay's status API. When tb is not
// nil the fake is closed when the test ends; otherwise call Close.
func NewKasperoPayAPI(tb testing.TB) *KasperoPayAPI {
	a := &KasperoPayAPI{}
	a.f.start(tb, a.read, a.write)
	return a
}

// URL returns the API's base URL, for kasperopay.WithBaseURL
// (KASPEROPAY_API_URL for payhook serve).
func (a *KasperoPayAPI) URL() string { return a.f.srv.URL }

// Set sets the answer for payment id.
func (a *KasperoPayAPI) Set(id string, ans Answer) { a.f.set(id, ans) }

// SetDefault sets the answer for payments without one. Default: [NotFound].
func (a *KasperoPayAPI) SetDefault(ans Answer) { a.f.setDefault(ans) }

// Confirm makes the API confirm e: it answers e's payment with
// [ConfirmedPayment](e).
func (a *KasperoPayAPI) Confirm(e kasperopay.Event) { a.Set(e.PaymentID, Payment(ConfirmedPayment(e))) }

// Calls returns the calls received so far, in order.
func (a *KasperoPayAPI) Calls() []Call { return a.f.recorded() }

// Close shuts the fake down; slow answers in progress end unanswered.
func (a *KasperoPayAPI) Close() { a.f.close() }

// ConfirmedPayment returns the payment that the status API answers for e
// when e is genuine: completed, with e's amounts and transaction id,
// confirmed at e's timestamp (time.Now() when e has none, as the builder
// stamps it), expiring 15 minutes later.
// Change a field to make it disagree.
func ConfirmedPayment(e kasperopay.Event) kasperopay.Payment {
	p := kasperopay.Payment{
		PaymentID: e.PaymentID, Status: kasperopay.StatusCompleted, AmountKAS: e.AmountKAS, AmountUSD: e.AmountUSD,
		TxID: e.TransactionID, StoreName: "payhooktest store", ConfirmedAt: e.Timestamp,
	}
	if p.ConfirmedAt.IsZero() {
		p.ConfirmedAt = time.Now().UTC().Truncate(time.Second)
	}
	p.ExpiresAt = p.ConfirmedAt.Add(15 * time.Minute)
	return p
}

const kasperopayStatusPath = "/pay/status/"

func (a *KasperoPayAPI) read(r *http.Request, _ []byte) route {
	raw, ok := strings.CutPrefix(r.URL.EscapedPath(), kasperopayStatusPath)
	id, err := url.PathUnescape(raw)
	if r.Method != http.MethodGet || !ok || err != nil || id == "" || strings.Contains(raw, "/") {
		return notFoundPage(r)
	}
	return route{id: id, ok: true}
}

func (a *KasperoPayAPI) write(w http.ResponseWriter, _ *http.Request, _ string, _ []byte, ans Answer) {
	switch {
	case writeOther(w, ans, "kasperopay"):
	case ans.pay != nil:
		writeBody(w, http.StatusOK, string(paymentJSON(*ans.pay)))
	default:
		writeBody(w, http.StatusNotFound, `{"error":"Payment not found"}`)
	}
}

// paymentJSON encodes p as the status API sends it.
func paymentJSON(p kasperopay.Payment) []byte {
	stamp := func(t time.Time) *string {
		if t.IsZero() {
			return nil
		}
		s := t.UTC().Format(time.RFC3339)
		return &s
	}
	num := func(n json.Number) *json.Number {
		if n == "" {
			return nil
		}
		return &n
	}
	return mustJSON(struct {
		PaymentID   string       `json:"payment_id"`
		Status      string       `json:"status"`
		AmountKAS   *json.Number `json:"amount_kas"`
		AmountUSD   *json.Number `json:"amount_usd"`
		TxID        *string      `json:"txid"`
		StoreName   string       `json:"store_name"`
		ConfirmedAt *string      `json:"confirmed_at"`
		ExpiresAt   *string      `json:"expires_at"`
	}{p.PaymentID, string(p.Status), num(number(p.AmountKAS)), num(number(p.AmountUSD)), orNull(p.TxID), p.StoreName,
		stamp(p.ConfirmedAt), stamp(p.ExpiresAt)})
}
