package payhooktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kazawallet"
)

// KazawalletAPIKey is the API key the Kazawallet fake accepts.
const KazawalletAPIKey = "kw_payhooktest"

// KazawalletAPI is a fake of Kazawallet's API, an httptest server serving
// POST {URL}/createPaymentLink. With the x-api-key KazawalletAPIKey, a
// request answers the [Answer] set for its ref; by default it creates a
// link, answering {"url": URL+"/pay/lnk_N", "order_id": "lnk_N"} (see
// [KazawalletAPI.Links]). [NotFound] answers Kazawallet's error for an
// unknown account (404, USER_NOT_FOUND), as does a wrong API key; another
// path or method is answered 404 with an HTML page.
//
// It records every call ([KazawalletAPI.Calls]). It is safe for concurrent
// use.
type KazawalletAPI struct {
	f     fake
	links []Link // guarded by f.mu
}

// Link is a payment link that the Kazawallet fake created.
type Link struct {
	// OrderID is the link's id, which the webhook's order_id carries.
	OrderID string
	// URL is the link to pay.
	URL string
	// Amount, Currency, Email, Ref and RedirectURL are as requested.
	Amount                            payhook.Amount
	Currency, Email, Ref, RedirectURL string
}

// Event returns the webhook event Kazawallet sends for the link once it is
// paid (kazawallet.StatusFulfilled) or expires (kazawallet.StatusTimedOut).
func (l Link) Event(status kazawallet.Status) kazawallet.Event {
	return kazawallet.Event{OrderID: l.OrderID, Amount: l.Amount, Ref: l.Ref, Status: status, Currency: l.Currency}
}

// NewKazawalletAPI starts a fake of Kazawallet's API. When tb is not nil
// the fake is closed when the test ends, and setup errors fail the test;
// otherwise call Close.
func NewKazawalletAPI(tb testing.TB) *KazawalletAPI {
	a := &KazawalletAPI{}
	a.f.start(tb, a.read, a.write)
	return a
}

// URL returns the API's base URL, for kazawallet.WithBaseURL. Like
// Kazawallet's own, it ends in /wallet.
func (a *KazawalletAPI) URL() string { return a.f.srv.URL + "/wallet" }

// Client returns a kazawallet.Client calling this fake with the key it
// accepts. opts are NewClient's, after WithBaseURL(a.URL()).
func (a *KazawalletAPI) Client(opts ...kazawallet.Option) *kazawallet.Client {
	cl, err := kazawallet.NewClient(KazawalletAPIKey, append([]kazawallet.Option{kazawallet.WithBaseURL(a.URL())}, opts...)...)
	if err != nil {
		a.f.fail(err)
	}
	return cl
}

// Set sets the answer for requests with ref.
func (a *KazawalletAPI) Set(ref string, ans Answer) { a.f.set(ref, ans) }

// SetDefault sets the answer for refs without one. Default: a new link.
func (a *KazawalletAPI) SetDefault(ans Answer) { a.f.setDefault(ans) }

// Links returns the links created so far, in order.
func (a *KazawalletAPI) Links() []Link {
	a.f.mu.Lock()
	defer a.f.mu.Unlock()
	return append([]Link(nil), a.links...)
}

// Calls returns the calls received so far, in order.
func (a *KazawalletAPI) Calls() []Call { return a.f.recorded() }

// Close shuts the fake down; slow answers in progress end unanswered.
func (a *KazawalletAPI) Close() { a.f.close() }

// kazawalletUnknownUser is Kazawallet's answer for an unknown account.
const kazawalletUnknownUser = `{"error":{"message":"User not found","details":{"key":"USER_NOT_FOUND"}}}`

// linkRequest is createPaymentLink's body: every value a string.
type linkRequest struct {
	Amount      string `json:"amount"`
	Currency    string `json:"currency"`
	Email       string `json:"email"`
	Ref         string `json:"ref"`
	RedirectURL string `json:"redirectUrl"`
}

func (a *KazawalletAPI) read(r *http.Request, body []byte) route {
	var in linkRequest
	_ = json.Unmarshal(body, &in)
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/wallet/createPaymentLink":
		return notFoundPage(r)
	case r.Header.Get("X-Api-Key") != KazawalletAPIKey:
		return route{id: in.Ref, status: http.StatusNotFound, body: kazawalletUnknownUser}
	}
	return route{id: in.Ref, ok: true}
}

func (a *KazawalletAPI) write(w http.ResponseWriter, r *http.Request, _ string, body []byte, ans Answer) {
	switch {
	case writeOther(w, ans, "kazawallet"):
	case ans.notFound:
		writeBody(w, http.StatusNotFound, kazawalletUnknownUser)
	default:
		a.create(w, r, body)
	}
}

// create creates a link, as Kazawallet does.
func (a *KazawalletAPI) create(w http.ResponseWriter, r *http.Request, body []byte) {
	var in linkRequest
	_ = json.Unmarshal(body, &in)
	amount, err := payhook.ParseAmount(in.Amount)
	if err != nil || in.Currency == "" {
		writeBody(w, http.StatusBadRequest, `{"success":false,"error":"amount and currency are required"}`)
		return
	}
	a.f.mu.Lock()
	id := fmt.Sprintf("lnk_%d", len(a.links)+1)
	l := Link{OrderID: id, URL: "http://" + r.Host + "/wallet/pay/" + id, Amount: amount,
		Currency: in.Currency, Email: in.Email, Ref: in.Ref, RedirectURL: in.RedirectURL}
	a.links = append(a.links, l)
	a.f.mu.Unlock()
	writeBody(w, http.StatusOK, string(mustJSON(map[string]string{"url": l.URL, "order_id": l.OrderID})))
}
