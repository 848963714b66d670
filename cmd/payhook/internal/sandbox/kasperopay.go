package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kasperopay"
)

// kasperopaySandbox plays KasperoPay: a payment's checkout, one delivery
// of payment.completed (signed when the merchant has a webhook secret), and
// the status API that answers what the webhook said.
type kasperopaySandbox struct {
	s   *Sandbox
	cfg KasperoPayConfig
}

// KasperoPay's payment window, and the sandbox's KAS price.
const (
	kasperopayWindow = 15 * time.Minute
	kasUSD           = "0.10"
)

func newKasperoPay(s *Sandbox, cfg KasperoPayConfig) (*kasperopaySandbox, error) {
	k := &kasperopaySandbox{s: s, cfg: cfg}
	switch {
	case cfg.WebhookSecret != "" && strings.TrimSpace(cfg.WebhookSecret) == "":
		return nil, errors.New("sandbox: kasperopay's webhook secret is blank")
	case k.off() != "":
		return k, nil
	}
	if err := checkWebhook(kasperopay.Name, cfg.Webhook); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *kasperopaySandbox) name() string  { return kasperopay.Name }
func (k *kasperopaySandbox) title() string { return "KasperoPay" }

func (k *kasperopaySandbox) off() string {
	if !k.cfg.On && k.cfg.WebhookSecret == "" {
		return "set KASPEROPAY_ENABLED=1 (or KASPEROPAY_WEBHOOK_SECRET), as for payhook serve"
	}
	return ""
}

func (k *kasperopaySandbox) webhookURL() string            { return k.cfg.Webhook }
func (k *kasperopaySandbox) clientBase(base string) string { return base }
func (k *kasperopaySandbox) serveEnv(base string) string   { return "KASPEROPAY_API_URL=" + base }

func (k *kasperopaySandbox) routes(mux *http.ServeMux) {
	mux.HandleFunc("/pay/status/{id}", k.status)
}

// status is GET /pay/status/{payment_id}: the payment as the status API
// sends it, amounts as JSON numbers, the transaction id as txid;
// confirmed_at and txid are null until it is paid. An unknown id: 404
// {"error":"Payment not found"}.
func (k *kasperopaySandbox) status(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		expressNotFound(w, r)
		return
	}
	var answer []byte
	found := k.s.lookup(k.name(), r.PathValue("id"), func(p *payment) { answer = kasperopayPayment(p) })
	if !found {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "Payment not found"})
		return
	}
	writeRaw(w, http.StatusOK, answer)
}

// kasperopayPayment is p as the status API sends it.
func kasperopayPayment(p *payment) []byte {
	var txid, confirmed *string
	if p.txid != "" {
		txid = &p.txid
	}
	if !p.confirmedAt.IsZero() {
		s := p.confirmedAt.UTC().Format(time.RFC3339)
		confirmed = &s
	}
	b, _ := json.Marshal(struct {
		PaymentID   string      `json:"payment_id"`
		Status      string      `json:"status"`
		AmountKAS   json.Number `json:"amount_kas"`
		AmountUSD   json.Number `json:"amount_usd"`
		TxID        *string     `json:"txid"`
		StoreName   string      `json:"store_name"`
		ConfirmedAt *string     `json:"confirmed_at"`
		ExpiresAt   string      `json:"expires_at"`
	}{p.id, p.status, json.Number(p.amount.String()), json.Number(p.amountUSD.String()), txid, "payhook sandbox",
		confirmed, p.expiresAt.UTC().Format(time.RFC3339)})
	return b
}

func (k *kasperopaySandbox) start() form {
	return form{Fields: []field{
		{Name: "amount", Label: "Amount (KAS)", Value: "25.5"},
		{Name: "item", Label: "Item", Value: "T-Shirt"},
		{Name: "order_id", Label: "Your order id (order_id)", Hint: "Optional; echoed in the webhook."},
	}, Buttons: []button{{Label: "Open the checkout", Class: "primary"}}}
}

func (k *kasperopaySandbox) create(v url.Values, now time.Time) (*payment, error) {
	if why := k.off(); why != "" {
		return nil, errors.New("KasperoPay is off: " + why)
	}
	amount, err := positive("amount", v.Get("amount"))
	if err != nil {
		return nil, err
	}
	usd := new(big.Rat).Mul(amount.Rat(), payhook.MustAmount(kasUSD).Rat())
	return &payment{provider: k, id: "pay_" + randomID(12, alnum), created: now, status: string(kasperopay.StatusPending), pending: true,
		amount: payhook.MustAmount(amount.Canonical()), currency: "KAS", amountUSD: payhook.MustAmount(usd.FloatString(2)),
		item: v.Get("item"), orderID: v.Get("order_id"), expiresAt: now.Add(kasperopayWindow)}, nil
}

func (k *kasperopaySandbox) checkout(p *payment) form {
	if !p.pending {
		return form{}
	}
	return form{Buttons: []button{
		{Value: "pay", Label: fmt.Sprintf("Pay %s KAS", p.amount), Class: "primary"},
		{Value: "expire", Label: "Let it expire", Class: "secondary"},
	}}
}

// settle pays the payment, which sends payment.completed, or lets it
// expire, which sends nothing: KasperoPay has no other event.
func (k *kasperopaySandbox) settle(p *payment, v url.Values, now time.Time) (bool, error) {
	switch v.Get("action") {
	case "pay":
		p.status, p.txid, p.confirmedAt = string(kasperopay.StatusCompleted), randomID(64, hexa), now
	case "expire":
		p.status = string(kasperopay.StatusExpired)
	default:
		return false, errBadAction
	}
	p.pending = false
	return p.status == string(kasperopay.StatusCompleted), nil
}

// customerAddress is the payer's address in every sandbox payment.
const customerAddress = "kaspa:qz0sandbox0payhook0customer0address0for0local0testing0only"

func (k *kasperopaySandbox) webhook(p *payment, target string) (*http.Request, policy, string, error) {
	e := kasperopay.Event{Type: kasperopay.PaymentCompleted, Timestamp: p.confirmedAt, MerchantID: "kpm_sandbox",
		PaymentID: p.id, OrderID: p.orderID, AmountKAS: p.amount, AmountUSD: p.amountUSD, TransactionID: p.txid,
		CustomerAddress: customerAddress, Item: p.item}
	b := kasperopay.Sender{Secret: k.cfg.WebhookSecret}
	r, err := b.NewRequest(target, e)
	if err != nil {
		return nil, policy{}, "", err
	}
	body, _ := io.ReadAll(r.Body) // a bytes.Reader; r.GetBody gives it again
	return r, b.Policy(), show(r, body, kasperopay.SignatureHeader), nil
}

func (k *kasperopaySandbox) details(p *payment) []detail {
	d := []detail{
		{"Value in USD", p.amountUSD.String()},
		{"Payment id", p.id},
		{"Item", p.item},
		{"Your order id", p.orderID},
		{"Expires at", p.expiresAt.UTC().Format(time.RFC3339)},
	}
	if p.txid != "" {
		d = append(d, detail{"Transaction id (txid)", p.txid})
	}
	return d
}

// refresh lets an unpaid payment expire at the end of its window.
func (k *kasperopaySandbox) refresh(p *payment, now time.Time) {
	if p.pending && !now.Before(p.expiresAt) {
		p.status, p.pending = string(kasperopay.StatusExpired), false
	}
}
