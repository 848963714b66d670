package kazawallettest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/providertest"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kazawallet"
)

// APIKey is the API key the fake accepts.
const APIKey = "kw_kazawallettest"

// API is a fake of Kazawallet's API, an httptest server serving POST
// {URL}/createPaymentLink. With the x-api-key APIKey, a request answers the
// payhooktest.Answer set for its ref; by default it creates a link,
// answering {"url": URL+"/pay/lnk_N", "order_id": "lnk_N"} (see
// [API.Links]). payhooktest.NotFound answers Kazawallet's error for an
// unknown account (404, USER_NOT_FOUND), as does a wrong API key; another
// path or method is answered 404 with an HTML page.
//
// It records every call ([payhooktest.API.Calls]). It is safe for
// concurrent use.
type API struct {
	*payhooktest.API
	mu    sync.Mutex
	links []Link
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
// paid (kazawallet.Fulfilled) or expires (kazawallet.TimedOut).
func (l Link) Event(t kazawallet.EventType) kazawallet.Event {
	return kazawallet.Event{OrderID: l.OrderID, Amount: l.Amount, Ref: l.Ref, Type: t, Currency: l.Currency}
}

// NewAPI starts a fake of Kazawallet's API. When tb is not nil the fake is
// closed when the test ends, and setup errors fail the test; otherwise call
// Close.
func NewAPI(tb testing.TB) *API {
	a := &API{}
	a.API = payhooktest.NewAPI(tb, a.route, a.write)
	return a
}

// URL returns the API's base URL, for kazawallet.WithBaseURL. Like
// Kazawallet's own, it ends in /wallet.
func (a *API) URL() string { return a.API.URL() + "/wallet" }

// Client returns a kazawallet.Client calling this fake with the key it
// accepts. opts are NewClient's, after WithBaseURL(a.URL()).
func (a *API) Client(opts ...kazawallet.ClientOption) *kazawallet.Client {
	cl, err := kazawallet.NewClient(APIKey, append([]kazawallet.ClientOption{kazawallet.WithBaseURL(a.URL())}, opts...)...)
	if err != nil {
		a.Fail(err)
	}
	return cl
}

// Links returns the links created so far, in order.
func (a *API) Links() []Link {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Link(nil), a.links...)
}

// unknownUser is Kazawallet's answer for an unknown account.
const unknownUser = `{"error":{"message":"User not found","details":{"key":"USER_NOT_FOUND"}}}`

// linkRequest is createPaymentLink's body: every value a string.
type linkRequest struct {
	Amount      string `json:"amount"`
	Currency    string `json:"currency"`
	Email       string `json:"email"`
	Ref         string `json:"ref"`
	RedirectURL string `json:"redirectUrl"`
}

func (a *API) route(r *http.Request, body []byte) payhooktest.Route {
	var in linkRequest
	_ = json.Unmarshal(body, &in)
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/wallet/createPaymentLink":
		return notFound(r, "")
	case r.Header.Get("X-Api-Key") != APIKey:
		return payhooktest.Route{ID: in.Ref, Status: http.StatusNotFound, Body: unknownUser}
	}
	return payhooktest.Route{ID: in.Ref, OK: true}
}

func (a *API) write(w http.ResponseWriter, r *http.Request, _ string, body []byte, ans payhooktest.Answer) {
	switch {
	case ans.Payload() != nil:
		providertest.WrongPayload(w, kazawallet.Name, ans.Payload())
	case ans.IsNotFound():
		providertest.WriteBody(w, http.StatusNotFound, unknownUser)
	default:
		a.create(w, r, body)
	}
}

// create creates a link, as Kazawallet does.
func (a *API) create(w http.ResponseWriter, r *http.Request, body []byte) {
	var in linkRequest
	_ = json.Unmarshal(body, &in)
	amount, err := payhook.ParseAmount(in.Amount)
	if err != nil || in.Currency == "" {
		providertest.WriteBody(w, http.StatusBadRequest, `{"success":false,"error":"amount and currency are required"}`)
		return
	}
	a.mu.Lock()
	id := fmt.Sprintf("lnk_%d", len(a.links)+1)
	l := Link{OrderID: id, URL: "http://" + r.Host + "/wallet/pay/" + id, Amount: amount,
		Currency: in.Currency, Email: in.Email, Ref: in.Ref, RedirectURL: in.RedirectURL}
	a.links = append(a.links, l)
	a.mu.Unlock()
	providertest.WriteBody(w, http.StatusOK, string(providertest.MustJSON(map[string]string{"url": l.URL, "order_id": l.OrderID})))
}

// notFound is the Route of a request for a path the API does not have
// ([providertest.NotFoundPage]), about id.
func notFound(r *http.Request, id string) payhooktest.Route {
	rt := payhooktest.Route{ID: id}
	rt.Status, rt.Body = providertest.NotFoundPage(r)
	return rt
}
