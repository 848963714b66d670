package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/payhook/payhook/providers/kazawallet"
)

// kazawalletSandbox plays Kazawallet: createPaymentLink, the link's
// checkout page, and the webhook, sent once, signed as Kazawallet's PHP
// example signs it.
type kazawalletSandbox struct {
	s   *Sandbox
	cfg KazawalletConfig
}

func newKazawallet(s *Sandbox, cfg KazawalletConfig) (*kazawalletSandbox, error) {
	k := &kazawalletSandbox{s: s, cfg: cfg}
	switch {
	case cfg.APIKey == "" && cfg.APISecret == "":
		return k, nil
	case strings.TrimSpace(cfg.APIKey) == "" || strings.TrimSpace(cfg.APISecret) == "":
		return nil, errors.New("sandbox: kazawallet needs both the API key and the API secret (KAZAWALLET_API_KEY and KAZAWALLET_API_SECRET)")
	}
	if err := checkWebhook(kazawallet.Name, cfg.Webhook); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *kazawalletSandbox) name() string  { return kazawallet.Name }
func (k *kazawalletSandbox) title() string { return "Kazawallet" }

func (k *kazawalletSandbox) off() string {
	if k.cfg.APIKey == "" {
		return "set KAZAWALLET_API_KEY and KAZAWALLET_API_SECRET, as for payhook serve"
	}
	return ""
}

func (k *kazawalletSandbox) webhookURL() string            { return k.cfg.Webhook }
func (k *kazawalletSandbox) clientBase(base string) string { return base + "/wallet" }
func (k *kazawalletSandbox) serveEnv(string) string        { return "" }

func (k *kazawalletSandbox) routes(mux *http.ServeMux) {
	mux.HandleFunc("/wallet/createPaymentLink", k.createLink)
}

// kazawalletError is Kazawallet's error answer.
func kazawalletError(message, key string) map[string]any {
	return map[string]any{"error": map[string]any{"message": message, "details": map[string]string{"key": key}}}
}

// createLink is POST /wallet/createPaymentLink. Kazawallet documents the
// request; of its answer only "url" is known for sure, so that is all the
// sandbox answers: the link's id reaches the merchant in the webhook's
// order_id, beside the ref the merchant chose. A wrong x-api-key is
// answered as Kazawallet answers an unknown account; a body without an
// amount above zero or a currency, as its other endpoints refuse a request.
func (k *kazawalletSandbox) createLink(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		expressNotFound(w, r)
		return
	}
	if why := k.off(); why != "" {
		writeJSON(w, http.StatusServiceUnavailable, kazawalletError("Kazawallet is off in payhook sandbox: "+why, "SANDBOX_OFF"))
		return
	}
	if !equal(r.Header.Get("X-Api-Key"), k.cfg.APIKey) {
		writeJSON(w, http.StatusNotFound, kazawalletError("User not found", "USER_NOT_FOUND"))
		return
	}
	var in struct {
		Amount      jsonText `json:"amount"`
		Currency    jsonText `json:"currency"`
		Email       jsonText `json:"email"`
		Ref         jsonText `json:"ref"`
		RedirectURL jsonText `json:"redirectUrl"`
	}
	if status, err := readJSON(w, r, &in); err != nil {
		writeJSON(w, status, map[string]any{"success": false, "error": err.Error()})
		return
	}
	p, err := k.newLink(url.Values{"amount": {string(in.Amount)}, "currency": {string(in.Currency)}, "email": {string(in.Email)},
		"ref": {string(in.Ref)}, "redirectUrl": {string(in.RedirectURL)}}, k.s.now())
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "error": err.Error()})
		return
	}
	k.s.add(p)
	writeJSON(w, http.StatusOK, map[string]string{"url": baseURL(r) + checkoutPath(p)})
}

func (k *kazawalletSandbox) start() form {
	return form{Fields: []field{
		{Name: "amount", Label: "Amount", Value: "10.00", Hint: "Sent and signed exactly as written."},
		{Name: "currency", Label: "Currency", Value: "USD"},
		{Name: "ref", Label: "Your reference (ref)", Hint: "Echoed in the webhook's ref: your order or user id."},
		{Name: "email", Label: "Merchant account email", Value: "merchant@example.com"},
		{Name: "redirectUrl", Label: "Return URL (redirectUrl)", Hint: "Where the payer goes back to after paying."},
	}, Buttons: []button{{Label: "Create the payment link", Class: "primary"}}}
}

func (k *kazawalletSandbox) create(v url.Values, now time.Time) (*payment, error) {
	return k.newLink(v, now)
}

// newLink makes a payment link as createPaymentLink does.
func (k *kazawalletSandbox) newLink(v url.Values, now time.Time) (*payment, error) {
	if why := k.off(); why != "" {
		return nil, errors.New("Kazawallet is off: " + why)
	}
	amount, err := positive("amount", v.Get("amount"))
	if err != nil {
		return nil, err
	}
	currency := strings.TrimSpace(v.Get("currency"))
	if currency == "" {
		return nil, errors.New("currency is required, such as USD")
	}
	ret := strings.TrimSpace(v.Get("redirectUrl"))
	if ret != "" && checkWebhook("", ret) != nil {
		return nil, errors.New("redirectUrl must be an http(s) URL")
	}
	return &payment{provider: k, id: randomID(24, hexa), created: now, status: "pending", pending: true,
		amount: amount, currency: currency, ref: v.Get("ref"), email: v.Get("email"), redirectURL: ret}, nil
}

func (k *kazawalletSandbox) checkout(p *payment) form {
	if !p.pending {
		return form{}
	}
	return form{Buttons: []button{
		{Value: "pay", Label: fmt.Sprintf("Pay %s %s", p.amount, p.currency), Class: "primary"},
		{Value: "timeout", Label: "Let it time out", Class: "secondary"},
	}}
}

func (k *kazawalletSandbox) settle(p *payment, v url.Values, _ time.Time) (bool, error) {
	switch v.Get("action") {
	case "pay":
		p.status = string(kazawallet.Fulfilled)
	case "timeout":
		p.status = string(kazawallet.TimedOut)
	default:
		return false, errBadAction
	}
	p.pending = false
	return true, nil
}

// webhook is the link's notification, signed over the amount as the
// merchant sent it.
func (k *kazawalletSandbox) webhook(p *payment, target string) (*http.Request, policy, string, error) {
	b := kazawallet.Sender{APIKey: k.cfg.APIKey, APISecret: k.cfg.APISecret}
	e := kazawallet.Event{OrderID: p.id, Amount: p.amount, Ref: p.ref, Type: kazawallet.EventType(p.status), Currency: p.currency}
	sig := kazawallet.Sign(k.cfg.APIKey, k.cfg.APISecret, p.amount.String(), p.id) // 88 characters of base64
	r, err := b.NewRequest(target, e)
	if err != nil {
		return nil, policy{}, "", err
	}
	body, _ := io.ReadAll(r.Body) // a bytes.Reader; r.GetBody gives it again
	return r, b.Policy(), show(r, bytes.ReplaceAll(body, []byte(sig), []byte("REDACTED"))), nil
}

func (k *kazawalletSandbox) details(p *payment) []detail {
	return []detail{
		{"Link id (order_id)", p.id},
		{"Reference (ref)", p.ref},
		{"Email", p.email},
		{"Return URL", p.redirectURL},
	}
}

func (k *kazawalletSandbox) refresh(*payment, time.Time) {}
