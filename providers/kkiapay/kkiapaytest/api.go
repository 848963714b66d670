package kkiapaytest

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/payhook/payhook/internal/jsonx"
	"github.com/payhook/payhook/internal/providertest"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kkiapay"
)

// The API keys the fake accepts: give them to kkiapay.NewClient, or use
// [API.Client].
const (
	PublicKey  = "pk_kkiapaytest"
	PrivateKey = "tpk_kkiapaytest"
	SecretKey  = "tsk_kkiapaytest"
)

// API is a fake of KKiaPay's transaction API, an httptest server:
//
//   - POST /api/v1/transactions/status with {"transactionId": id} answers
//     id's payhooktest.Answer; by default payhooktest.NotFound (404
//     {"message":"Transaction not found"}). [API.Confirm] makes it confirm a webhook's
//     event; [Transaction] answers any transaction (PENDING, another
//     amount) in the API's wire format: PerformedAt as performed_at (ISO
//     8601), PerformedOn as performedAt (dd/mm/yyyy), amounts as JSON
//     numbers, the customer under client. Fields are sent as they are:
//     what kkiapay.Client decodes from the answer is the Transaction given,
//     with Raw set.
//   - POST /api/v1/transactions/revert answers the same way, except that a
//     transaction is answered REVERTED and is REVERTED from then on.
//   - Without the x-api-key, x-private-key and x-secret-key headers of
//     PublicKey, PrivateKey and SecretKey: 401
//     {"status":401,"message":"Unauthorized: bad api keys"}. Another path
//     or method: 404 with an HTML "Cannot POST ..." page, as KKiaPay's
//     server answers.
//
// It records every call ([payhooktest.API.Calls]). It is safe for
// concurrent use.
type API struct{ *payhooktest.API }

// NewAPI starts a fake of KKiaPay's API. When tb is not nil the fake is
// closed when the test ends, and setup errors fail the test; otherwise call
// Close. Its URL is the base URL, for kkiapay.WithBaseURL (KKIAPAY_API_URL
// for payhook serve).
func NewAPI(tb testing.TB) *API {
	a := &API{}
	a.API = payhooktest.NewAPI(tb, a.route, a.write)
	return a
}

// Client returns a kkiapay.Client calling this fake with the keys it
// accepts, for kkiapay.WithConfirmation. opts are NewClient's, after
// WithBaseURL(a.URL()).
func (a *API) Client(opts ...kkiapay.ClientOption) *kkiapay.Client {
	cl, err := kkiapay.NewClient(PublicKey, PrivateKey, SecretKey, append([]kkiapay.ClientOption{kkiapay.WithBaseURL(a.URL())}, opts...)...)
	if err != nil {
		a.Fail(err)
	}
	return cl
}

// Confirm makes the API confirm e: it answers e's transaction with
// [ConfirmedTransaction](e).
func (a *API) Confirm(e kkiapay.Event) { a.Set(e.TransactionID, Transaction(ConfirmedTransaction(e))) }

// Transaction is KKiaPay's status API answering 200 with tx, in the API's
// wire format (see [API]). Its TransactionID should be the id it answers
// for.
func Transaction(tx kkiapay.Transaction) payhooktest.Answer { return payhooktest.Payload(tx) }

// ConfirmedTransaction returns the transaction that the status API answers
// for e when e is genuine: SUCCESS for transaction.success (FAILED for
// transaction.failed), with e's
// amount, fees, method, partner id, state, time (and its date as
// PerformedOn) and failure, e.Account as the client's phone, type "DEBIT"
// and fees borne by the "merchant". Change a field to make it disagree.
func ConfirmedTransaction(e kkiapay.Event) kkiapay.Transaction {
	status := kkiapay.StatusFailed
	if e.Type == kkiapay.TransactionSuccess {
		status = kkiapay.StatusSuccess
	}
	return kkiapay.Transaction{
		TransactionID:  e.TransactionID,
		Status:         status,
		Type:           "DEBIT",
		Source:         e.Method,
		Amount:         e.Amount,
		Fees:           e.Fees,
		PartnerID:      e.PartnerID,
		State:          e.StateData,
		FailureCode:    e.FailureCode,
		FailureMessage: e.FailureMessage,
		FeeSupportedBy: "merchant",
		PerformedAt:    e.PerformedAt,
		PerformedOn:    date(e.PerformedAt),
		Client:         kkiapay.Customer{Fullname: "Anonymous customer", Phone: e.Account},
	}
}

// date is t's date at midnight UTC, as the status API's performedAt says
// it; zero for the zero time.
func date(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

const (
	statusPath = "/api/v1/transactions/status"
	revertPath = "/api/v1/transactions/revert"
)

func (a *API) route(r *http.Request, body []byte) payhooktest.Route {
	var in struct {
		TransactionID jsonx.String `json:"transactionId"`
	}
	_ = json.Unmarshal(body, &in)
	rt := payhooktest.Route{ID: string(in.TransactionID)}
	switch {
	case r.Method != http.MethodPost || r.URL.Path != statusPath && r.URL.Path != revertPath:
		return notFound(r, rt.ID)
	case r.Header.Get("X-Api-Key") != PublicKey || r.Header.Get("X-Private-Key") != PrivateKey ||
		r.Header.Get("X-Secret-Key") != SecretKey:
		rt.Status, rt.Body = http.StatusUnauthorized, `{"status":401,"message":"Unauthorized: bad api keys"}`
		return rt
	}
	rt.OK = true
	return rt
}

func (a *API) write(w http.ResponseWriter, r *http.Request, id string, _ []byte, ans payhooktest.Answer) {
	tx, isTx := ans.Payload().(kkiapay.Transaction)
	switch {
	case isTx:
		if r.URL.Path == revertPath {
			tx.Status = kkiapay.StatusReverted
			a.Set(id, Transaction(tx))
		}
		providertest.WriteBody(w, http.StatusOK, string(providertest.Must(kkiapay.StatusBody(tx))))
	case ans.Payload() != nil:
		providertest.WrongPayload(w, kkiapay.Name, ans.Payload())
	default: // NotFound, or no answer set
		providertest.WriteBody(w, http.StatusNotFound, `{"message":"Transaction not found"}`)
	}
}

// notFound is the Route of a request for a path the API does not have
// ([providertest.NotFoundPage]), about id.
func notFound(r *http.Request, id string) payhooktest.Route {
	rt := payhooktest.Route{ID: id}
	rt.Status, rt.Body = providertest.NotFoundPage(r)
	return rt
}
