package apptest

// Stand-ins until payhooktest lands: request builders and a fake
// KasperoPay status API. To be replaced by the kit.

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/examples/internal/shop"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

// Test secrets.
const (
	KazawalletAPIKey     = "test_api_key"
	KazawalletAPISecret  = "test_api_secret"
	KKiaPayWebhookSecret = "test_hash_secret"
)

// Fakes are the provider APIs an Env talks to.
type Fakes struct {
	kasperopay *httptest.Server
	mu         sync.Mutex
	payments   map[string]kasperopay.Payment
	calls      atomic.Int64
}

func newFakes(t testing.TB) *Fakes {
	f := &Fakes{payments: map[string]kasperopay.Payment{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pay/status/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		f.mu.Lock()
		p, ok := f.payments[r.PathValue("id")]
		f.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"payment_id": p.PaymentID, "status": p.Status,
			"amount_kas": json.Number(p.AmountKAS.String()), "txid": p.TxID})
	})
	f.kasperopay = httptest.NewServer(mux)
	t.Cleanup(f.kasperopay.Close)
	return f
}

func (f *Fakes) config() shop.Config {
	return shop.Config{
		KazawalletAPIKey:     KazawalletAPIKey,
		KazawalletAPISecret:  KazawalletAPISecret,
		KKiaPayWebhookSecret: KKiaPayWebhookSecret,
		KasperoPayAPIURL:     f.kasperopay.URL,
		Logger:               slog.New(slog.DiscardHandler),
	}
}

func (f *Fakes) apiCalls() int64 { return f.calls.Load() }

func post(path string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// kazawalletSender mirrors payhooktest.Kazawallet.
type kazawalletSender struct{ APIKey, APISecret string }

// Kazawallet signs Kazawallet webhooks with the Env's test credentials.
var Kazawallet = kazawalletSender{KazawalletAPIKey, KazawalletAPISecret}

func (k kazawalletSender) body(e kazawallet.Event, secret string) []byte {
	body, _ := json.Marshal(map[string]string{"order_id": e.OrderID, "amount": e.Amount.String(), "ref": e.Ref,
		"status": string(e.Status), "currency": e.Currency, "secret": kazawallet.Sign(k.APIKey, secret, e.Amount.String(), e.OrderID)})
	return body
}

func (k kazawalletSender) Request(path string, e kazawallet.Event) *http.Request {
	return post(path, k.body(e, k.APISecret))
}

func (k kazawalletSender) Forged(path string, e kazawallet.Event) *http.Request {
	return post(path, k.body(e, "not the secret"))
}

func kkiapayRequest(e kkiapay.Event, forge bool) *http.Request {
	body, _ := json.Marshal(e)
	r := post("/webhooks/kkiapay", body)
	secret := KKiaPayWebhookSecret
	if forge {
		secret = "not the secret"
	}
	kkiapay.SetSecretHeader(r.Header, secret)
	return r
}

func (f *Fakes) kasperopayRequest(e kasperopay.Event, forge bool) *http.Request {
	f.mu.Lock()
	f.payments[e.PaymentID] = kasperopay.Payment{PaymentID: e.PaymentID, Status: kasperopay.StatusCompleted, AmountKAS: e.AmountKAS, TxID: e.TransactionID}
	f.mu.Unlock()
	if forge {
		e.AmountKAS = payhook.MustAmount("2500")
	}
	body, _ := json.Marshal(e)
	return post("/webhooks/kasperopay", body)
}
