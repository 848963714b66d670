package payhooktest

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/payhook/payhook/internal/jsonx"
	"github.com/payhook/payhook/providers/kkiapay"
)

// The API keys the KKiaPay fake accepts: give them to kkiapay.NewClient,
// or use [KKiaPayAPI.Client].
const (
	KKiaPayPublicKey  = "pk_payhooktest"
	KKiaPayPrivateKey = "tpk_payhooktest"
	KKiaPaySecretKey  = "tsk_payhooktest"
)

// KKiaPayAPI is a fake of KKiaPay's transaction API, an httptest server:
//
//   - POST /api/v1/transactions/status with {"transactionId": id} answers
//     id's [Answer]; by default [NotFound] (404 {"message":"Transaction
//     not found"}). [KKiaPayAPI.Confirm] makes it confirm a webhook's
//     event; [Transaction] answers any transaction (PENDING, another
//     amount) in the API's wire format: PerformedAt as performed_at (ISO
//     8601), PerformedOn as performedAt (dd/mm/yyyy), amounts as JSON
//     numbers, the customer under client. Fields are sent as they are:
//     what kkiapay.Client decodes from the answer is the Transaction given,
//     with Raw set.
//   - POST /api/v1/transactions/revert answers the same way, except that a
//     transaction is answered REVERTED and is REVERTED from then on.
//   - Without the x-api-key, x-private-key and x-secret-key headers of
//     KKiaPayPublicKey, KKiaPayPrivateKey and KKiaPaySecretKey: 401
//     {"status":401,"message":"Unauthorized: bad api keys"}. Another path
//     or method: 404 with an HTML "Cannot POST ..." page, as KKiaPay's
//     server answers.
//
// It records every call ([KKiaPayAPI.Calls]). It is safe for concurrent
// use.
type KKiaPayAPI struct{ f fake }

// NewKKiaPayAPI starts a fake of KKiaPay's API. When tb is not nil the
// fake is closed when the test ends, and setup errors fail the test;
// otherwise call Close.
func NewKKiaPayAPI(tb testing.TB) *KKiaPayAPI {
	a := &KKiaPayAPI{}
	a.f.start(tb, a.read, a.write)
	return a
}

// URL returns the API's base URL, for kkiapay.WithBaseURL (KKIAPAY_API_URL
// for payhook serve).
func (a *KKiaPayAPI) URL() string { return a.f.srv.URL }

// Client returns a kkiapay.Client calling this fake with the keys it
// accepts, for kkiapay.WithConfirmation. opts are NewClient's, after
// WithBaseURL(a.URL()).
func (a *KKiaPayAPI) Client(opts ...kkiapay.Option) *kkiapay.Client {
	cl, err := kkiapay.NewClient(KKiaPayPublicKey, KKiaPayPrivateKey, KKiaPaySecretKey,
		append([]kkiapay.Option{kkiapay.WithBaseURL(a.URL())}, opts...)...)
	if err != nil {
		a.f.fail(err)
	}
	return cl
}

// Set sets the answer for transaction id.
func (a *KKiaPayAPI) Set(id string, ans Answer) { a.f.set(id, ans) }

// SetDefault sets the answer for transactions without one. Default:
// [NotFound].
func (a *KKiaPayAPI) SetDefault(ans Answer) { a.f.setDefault(ans) }

// Confirm makes the API confirm e: it answers e's transaction with
// [ConfirmedTransaction](e).
func (a *KKiaPayAPI) Confirm(e kkiapay.Event) {
	a.Set(e.TransactionID, Transaction(ConfirmedTransaction(e)))
}

// Calls returns the calls received so far, in order.
func (a *KKiaPayAPI) Calls() []Call { return a.f.recorded() }

// Close shuts the fake down; slow answers in progress end unanswered.
func (a *KKiaPayAPI) Close() { a.f.close() }

// ConfirmedTransaction returns the transaction that the status API answers
// for e when e is genuine: SUCCESS for transaction.success (FAILED for
// transaction.failed; for other events SUCCESS if e.Succeeded()), with e's
// amount, fees, method, partner id, state, time (and its date as
// PerformedOn) and failure, e.Account as the client's phone, type "DEBIT"
// and fees borne by the "merchant". Change a field to make it disagree.
func ConfirmedTransaction(e kkiapay.Event) kkiapay.Transaction {
	status := kkiapay.StatusFailed
	if e.Type == kkiapay.TransactionSuccess || e.Type != kkiapay.TransactionFailed && e.Succeeded() {
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
	kkiapayStatusPath = "/api/v1/transactions/status"
	kkiapayRevertPath = "/api/v1/transactions/revert"
)

func (a *KKiaPayAPI) read(r *http.Request, body []byte) route {
	var in struct {
		TransactionID jsonx.String `json:"transactionId"`
	}
	_ = json.Unmarshal(body, &in)
	rt := route{id: string(in.TransactionID)}
	switch {
	case r.Method != http.MethodPost || r.URL.Path != kkiapayStatusPath && r.URL.Path != kkiapayRevertPath:
		nf := notFoundPage(r)
		nf.id = rt.id
		return nf
	case r.Header.Get("X-Api-Key") != KKiaPayPublicKey || r.Header.Get("X-Private-Key") != KKiaPayPrivateKey ||
		r.Header.Get("X-Secret-Key") != KKiaPaySecretKey:
		rt.status, rt.body = http.StatusUnauthorized, `{"status":401,"message":"Unauthorized: bad api keys"}`
		return rt
	}
	rt.ok = true
	return rt
}

func (a *KKiaPayAPI) write(w http.ResponseWriter, r *http.Request, id string, _ []byte, ans Answer) {
	switch {
	case writeOther(w, ans, "kkiapay"):
	case ans.tx != nil:
		tx := *ans.tx
		if r.URL.Path == kkiapayRevertPath {
			tx.Status = kkiapay.StatusReverted
			a.Set(id, Transaction(tx))
		}
		writeBody(w, http.StatusOK, string(transactionJSON(tx)))
	default: // NotFound, or no answer set
		writeBody(w, http.StatusNotFound, `{"message":"Transaction not found"}`)
	}
}

// transactionJSON encodes tx as the status API sends it.
func transactionJSON(tx kkiapay.Transaction) []byte {
	var performedAt, performedOn string
	if !tx.PerformedAt.IsZero() {
		performedAt = tx.PerformedAt.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	if !tx.PerformedOn.IsZero() {
		performedOn = tx.PerformedOn.Format("02/01/2006")
	}
	state := tx.State
	if len(state) == 0 {
		state = json.RawMessage("null")
	}
	fees := number(tx.Fees)
	if fees == "" {
		fees = "0"
	}
	return mustJSON(struct {
		PerformedAt      string           `json:"performed_at,omitempty"`
		Type             string           `json:"type"`
		Status           string           `json:"status"`
		Source           string           `json:"source"`
		SourceCommonName string           `json:"source_common_name"`
		Amount           json.Number      `json:"amount,omitempty"`
		Fees             json.Number      `json:"fees"`
		Reason           string           `json:"reason"`
		FailureCode      string           `json:"failureCode"`
		FailureMessage   string           `json:"failureMessage"`
		State            json.RawMessage  `json:"state"`
		PartnerID        string           `json:"partnerId"`
		FeeSupportedBy   string           `json:"feeSupportedBy"`
		Income           json.Number      `json:"income,omitempty"`
		TransactionID    string           `json:"transactionId"`
		PerformedOn      string           `json:"performedAt,omitempty"`
		Client           kkiapay.Customer `json:"client"`
	}{performedAt, tx.Type, string(tx.Status), string(tx.Source), tx.SourceCommonName, number(tx.Amount), fees,
		tx.Reason, tx.FailureCode, tx.FailureMessage, state, tx.PartnerID, tx.FeeSupportedBy, number(tx.Income), tx.TransactionID,
		performedOn, tx.Client})
}
