package kasperopaytest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/payhook/payhook/internal/jsonx"
	"github.com/payhook/payhook/internal/providertest"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kasperopay"
)

// API is a fake of KasperoPay's status API, an httptest server: GET
// /pay/status/{payment_id} answers the payment's payhooktest.Answer; by
// default payhooktest.NotFound (404 {"error":"Payment not found"}).
// [API.Confirm] makes it confirm a webhook's event; [Payment] answers any
// payment (pending, another amount), in the API's wire format: amounts as
// JSON numbers, the transaction id as txid. Another path or method is
// answered 404 with an HTML "Cannot GET ..." page, as KasperoPay's server
// answers.
//
// It records every call ([payhooktest.API.Calls]). It is safe for
// concurrent use.
type API struct{ *payhooktest.API }

// NewAPI starts a fake of KasperoPay's status API. When tb is not nil the
// fake is closed when the test ends; otherwise call Close. Its URL is the
// base URL, for kasperopay.WithBaseURL (KASPEROPAY_API_URL for payhook
// serve).
func NewAPI(tb testing.TB) *API {
	a := &API{}
	a.API = payhooktest.NewAPI(tb, a.route, a.write)
	return a
}

// Client returns a kasperopay.Client calling this fake, for
// kasperopay.WithConfirmation. opts are NewClient's, after
// WithBaseURL(a.URL()).
func (a *API) Client(opts ...kasperopay.ClientOption) *kasperopay.Client {
	cl, err := kasperopay.NewClient(append([]kasperopay.ClientOption{kasperopay.WithBaseURL(a.URL())}, opts...)...)
	if err != nil {
		a.Fail(err)
	}
	return cl
}

// Confirm makes the API confirm e: it answers e's payment with
// [ConfirmedPayment](e).
func (a *API) Confirm(e kasperopay.Event) { a.Set(e.PaymentID, Payment(ConfirmedPayment(e))) }

// Payment is KasperoPay's status API answering 200 with p, in the API's
// wire format (see [API]).
func Payment(p kasperopay.Payment) payhooktest.Answer { return payhooktest.Payload(p) }

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

const statusPath = "/pay/status/"

func (a *API) route(r *http.Request, _ []byte) payhooktest.Route {
	raw, ok := strings.CutPrefix(r.URL.EscapedPath(), statusPath)
	id, err := url.PathUnescape(raw)
	if r.Method != http.MethodGet || !ok || err != nil || id == "" || strings.Contains(raw, "/") {
		return notFound(r, "")
	}
	return payhooktest.Route{ID: id, OK: true}
}

func (a *API) write(w http.ResponseWriter, _ *http.Request, _ string, _ []byte, ans payhooktest.Answer) {
	p, isPayment := ans.Payload().(kasperopay.Payment)
	switch {
	case isPayment:
		providertest.WriteBody(w, http.StatusOK, string(paymentJSON(p)))
	case ans.Payload() != nil:
		providertest.WrongPayload(w, kasperopay.Name, ans.Payload())
	default:
		providertest.WriteBody(w, http.StatusNotFound, `{"error":"Payment not found"}`)
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
	return providertest.MustJSON(struct {
		PaymentID   string       `json:"payment_id"`
		Status      string       `json:"status"`
		AmountKAS   *json.Number `json:"amount_kas"`
		AmountUSD   *json.Number `json:"amount_usd"`
		TxID        *string      `json:"txid"`
		StoreName   string       `json:"store_name"`
		ConfirmedAt *string      `json:"confirmed_at"`
		ExpiresAt   *string      `json:"expires_at"`
	}{p.PaymentID, string(p.Status), num(jsonx.Number(p.AmountKAS.String())), num(jsonx.Number(p.AmountUSD.String())), orNull(p.TxID), p.StoreName,
		stamp(p.ConfirmedAt), stamp(p.ExpiresAt)})
}

// orNull returns nil for "", for fields KasperoPay sends as null.
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// notFound is the Route of a request for a path the API does not have
// ([providertest.NotFoundPage]), about id.
func notFound(r *http.Request, id string) payhooktest.Route {
	rt := payhooktest.Route{ID: id}
	rt.Status, rt.Body = providertest.NotFoundPage(r)
	return rt
}
