package sandbox

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kkiapay"
)

// kkiapaySandbox plays KKiaPay: a transaction's checkout, its webhook with
// the hash secret in x-kkiapay-secret, retried as KKiaPay retries, and the
// transaction API that answers what the webhook said.
type kkiapaySandbox struct {
	s   *Sandbox
	cfg KKiaPayConfig
}

func newKKiaPay(s *Sandbox, cfg KKiaPayConfig) (*kkiapaySandbox, error) {
	k := &kkiapaySandbox{s: s, cfg: cfg}
	keys := 0
	for _, v := range []string{cfg.PublicKey, cfg.PrivateKey, cfg.SecretKey} {
		if strings.TrimSpace(v) != "" {
			keys++
		}
	}
	switch {
	case keys != 0 && keys != 3:
		return nil, errors.New("sandbox: kkiapay's status API needs all three API keys (KKIAPAY_PUBLIC_KEY, KKIAPAY_PRIVATE_KEY, KKIAPAY_SECRET_KEY) or none")
	case cfg.HashSecret == "" && keys != 0:
		return nil, errors.New("sandbox: kkiapay's API keys are set without the webhook's hash secret (KKIAPAY_WEBHOOK_SECRET)")
	case cfg.HashSecret == "":
		return k, nil
	case strings.TrimSpace(cfg.HashSecret) == "":
		return nil, errors.New("sandbox: kkiapay's hash secret is blank")
	}
	if err := checkWebhook(kkiapay.Name, cfg.Webhook); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *kkiapaySandbox) name() string  { return kkiapay.Name }
func (k *kkiapaySandbox) title() string { return "KKiaPay" }

func (k *kkiapaySandbox) off() string {
	if k.cfg.HashSecret == "" {
		return "set KKIAPAY_WEBHOOK_SECRET (and KKIAPAY_PUBLIC_KEY, KKIAPAY_PRIVATE_KEY and KKIAPAY_SECRET_KEY for the status API), as for payhook serve"
	}
	return ""
}

func (k *kkiapaySandbox) webhookURL() string            { return k.cfg.Webhook }
func (k *kkiapaySandbox) clientBase(base string) string { return base }

func (k *kkiapaySandbox) serveEnv(base string) string {
	if k.cfg.PublicKey == "" {
		return ""
	}
	return "KKIAPAY_API_URL=" + base
}

func (k *kkiapaySandbox) routes(mux *http.ServeMux) {
	mux.HandleFunc("/api/v1/transactions/status", k.api)
	mux.HandleFunc("/api/v1/transactions/revert", k.api)
}

// kkiapayMessage is KKiaPay's answer for a refusal.
func kkiapayMessage(status int, msg string) map[string]any {
	return map[string]any{"status": status, "message": msg}
}

// api is POST /api/v1/transactions/status and /revert: the transaction as
// the status API sends it. Without the three API keys: 401; an unknown id:
// 404 {"message":"Transaction not found"}. A revert makes a SUCCESS
// transaction REVERTED; other transactions cannot be reverted (400).
func (k *kkiapaySandbox) api(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		expressNotFound(w, r)
		return
	}
	if why := k.off(); why != "" {
		writeJSON(w, http.StatusServiceUnavailable, kkiapayMessage(http.StatusServiceUnavailable, "KKiaPay is off in payhook sandbox: "+why))
		return
	}
	// Every key is compared, so that timing does not tell which was wrong.
	ok := k.cfg.PublicKey != ""
	ok = equal(r.Header.Get("X-Api-Key"), k.cfg.PublicKey) && ok
	ok = equal(r.Header.Get("X-Private-Key"), k.cfg.PrivateKey) && ok
	ok = equal(r.Header.Get("X-Secret-Key"), k.cfg.SecretKey) && ok
	if !ok {
		writeJSON(w, http.StatusUnauthorized, kkiapayMessage(http.StatusUnauthorized, "Unauthorized: bad api keys"))
		return
	}
	var in struct {
		TransactionID jsonText `json:"transactionId"`
	}
	if status, err := readJSON(w, r, &in); err != nil || in.TransactionID == "" {
		if err == nil {
			status, err = http.StatusBadRequest, errors.New("transactionId is required")
		}
		writeJSON(w, status, kkiapayMessage(status, err.Error()))
		return
	}
	revert := strings.HasSuffix(r.URL.Path, "/revert")
	var answer []byte
	var refused bool
	found := k.s.lookup(k.name(), string(in.TransactionID), func(p *payment) {
		if revert {
			if p.status != string(kkiapay.StatusSuccess) {
				refused = true
				return
			}
			p.status = string(kkiapay.StatusReverted)
		}
		answer = kkiapayTransaction(p)
	})
	switch {
	case !found:
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Transaction not found"})
	case refused:
		writeJSON(w, http.StatusBadRequest, kkiapayMessage(http.StatusBadRequest, "Only a successful transaction can be reverted"))
	default:
		writeRaw(w, http.StatusOK, answer)
	}
}

// kkiapayTransaction is p as the status API sends it: source is the
// webhook's method, state its stateData.
func kkiapayTransaction(p *payment) []byte {
	tx := kkiapay.Transaction{
		TransactionID: p.id, Status: kkiapay.Status(p.status), Type: "DEBIT", Source: kkiapay.Method(p.method),
		Amount: p.amount, Fees: payhook.MustAmount("0"), Income: payhook.MustAmount("0"), FeeSupportedBy: "merchant",
		Reason: p.reason, FailureCode: p.failureCode, FailureMessage: p.failureCode, PartnerID: p.partnerID,
		PerformedAt: p.performedAt, PerformedOn: p.performedAt.UTC(),
		Client: kkiapay.Customer{Fullname: "Anonymous customer", Phone: p.account},
	}
	if tx.Source == kkiapay.MobileMoney {
		tx.SourceCommonName = "mtn-benin"
	}
	if tx.Status == kkiapay.StatusSuccess || tx.Status == kkiapay.StatusReverted {
		tx.Income = p.amount // the amount, less fees of 0
	}
	b, _ := kkiapay.StatusBody(tx) // never fails: no State
	return b
}

// kkiapayFailures are the failure codes KKiaPay sends.
var kkiapayFailures = []string{"processing_error", "insufficient_fund", "payment_declined"}

func (k *kkiapaySandbox) start() form {
	return form{Fields: []field{
		{Name: "amount", Label: "Amount (XOF)", Value: "1000", Hint: "A whole number, as KKiaPay's amounts are."},
		{Name: "method", Label: "Method", Value: string(kkiapay.MobileMoney),
			Options: []string{string(kkiapay.MobileMoney), string(kkiapay.Wallet), string(kkiapay.Card)}},
		{Name: "account", Label: "Phone number (account)", Value: "22996000000"},
		{Name: "reason", Label: "Reason (label)", Value: "Sandbox payment"},
		{Name: "partnerId", Label: "Your reference (partnerId)", Hint: "Echoed in the webhook's partnerId."},
	}, Buttons: []button{{Label: "Open the checkout", Class: "primary"}}}
}

func (k *kkiapaySandbox) create(v url.Values, now time.Time) (*payment, error) {
	if why := k.off(); why != "" {
		return nil, errors.New("KKiaPay is off: " + why)
	}
	amount, err := positive("amount", v.Get("amount"))
	if err != nil || !amount.Rat().IsInt() {
		return nil, errors.New("amount must be a whole number of XOF above zero, such as 1000")
	}
	method := v.Get("method")
	if !slices.Contains([]string{string(kkiapay.MobileMoney), string(kkiapay.Wallet), string(kkiapay.Card)}, method) {
		return nil, errors.New("method must be MOBILE_MONEY, WALLET or CARD")
	}
	return &payment{provider: k, id: randomID(9, alnum), created: now, status: string(kkiapay.StatusPending), pending: true,
		amount: payhook.MustAmount(amount.Canonical()), currency: "XOF", method: method, account: v.Get("account"),
		reason: v.Get("reason"), partnerID: v.Get("partnerId"), performedAt: now}, nil
}

func (k *kkiapaySandbox) checkout(p *payment) form {
	if !p.pending {
		return form{}
	}
	return form{
		Fields: []field{{Name: "failure_code", Label: "Failure code, if it fails", Value: kkiapayFailures[0], Options: kkiapayFailures}},
		Buttons: []button{
			{Value: "succeed", Label: "Succeed", Class: "primary"},
			{Value: "fail", Label: "Fail", Class: "danger"},
		},
	}
}

func (k *kkiapaySandbox) settle(p *payment, v url.Values, now time.Time) (bool, error) {
	switch v.Get("action") {
	case "succeed":
		p.status = string(kkiapay.StatusSuccess)
	case "fail":
		code := v.Get("failure_code")
		if !slices.Contains(kkiapayFailures, code) {
			code = kkiapayFailures[0]
		}
		p.status, p.failureCode = string(kkiapay.StatusFailed), code
	default:
		return false, errBadAction
	}
	p.pending, p.performedAt = false, now
	return true, nil
}

// webhook is the transaction's transaction.success or transaction.failed.
func (k *kkiapaySandbox) webhook(p *payment, target string) (*http.Request, policy, string, error) {
	e := kkiapay.Event{TransactionID: p.id, Type: kkiapay.TransactionSuccess, Account: p.account, Label: p.reason,
		Method: kkiapay.Method(p.method), Amount: p.amount, Fees: payhook.MustAmount("0"), PartnerID: p.partnerID,
		PerformedAt: p.performedAt}
	if p.status == string(kkiapay.StatusFailed) {
		e.Type, e.FailureCode, e.FailureMessage = kkiapay.TransactionFailed, p.failureCode, p.failureCode
	}
	b := kkiapay.Sender{Secret: k.cfg.HashSecret}
	r, err := b.NewRequest(target, e)
	if err != nil {
		return nil, policy{}, "", err
	}
	body, _ := io.ReadAll(r.Body) // a bytes.Reader; r.GetBody gives it again
	return r, b.Policy(), show(r, body, kkiapay.SignatureHeader), nil
}

func (k *kkiapaySandbox) details(p *payment) []detail {
	d := []detail{
		{"Transaction id", p.id},
		{"Method", p.method},
		{"Phone number", p.account},
		{"Reason", p.reason},
		{"Your reference (partnerId)", p.partnerID},
	}
	if p.failureCode != "" {
		d = append(d, detail{"Failure code", p.failureCode})
	}
	return d
}

func (k *kkiapaySandbox) refresh(*payment, time.Time) {}
