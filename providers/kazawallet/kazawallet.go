package kazawallet

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/decimal"
	"github.com/payhook/payhook/internal/jsonx"
	"github.com/payhook/payhook/internal/secret"
)

// Name is the provider's name in payhook: it labels logs and prefixes
// idempotency keys.
const Name = "kazawallet"

// Provider verifies and decodes Kazawallet webhooks for one merchant
// account. It implements payhook.Provider[Event]. Make one with [New]; it is
// safe for concurrent use, and logs and prints with its secrets redacted.
type Provider struct {
	signer *signer
}

var _ payhook.Provider[Event] = (*Provider)(nil)

// New returns a Provider for the merchant account with apiKey and apiSecret,
// the credentials shown in Kazawallet's merchant settings. Both are
// required: an empty one is an error wrapping payhook.ErrConfig, never
// "verification off".
func New(apiKey, apiSecret string) (*Provider, error) {
	switch {
	case strings.TrimSpace(apiKey) == "":
		return nil, fmt.Errorf("kazawallet: %w: empty API key", payhook.ErrConfig)
	case strings.TrimSpace(apiSecret) == "":
		return nil, fmt.Errorf("kazawallet: %w: empty API secret", payhook.ErrConfig)
	}
	return &Provider{signer: newSigner(apiKey, apiSecret)}, nil
}

// Name returns "kazawallet".
func (p *Provider) Name() string { return Name }

// Key returns the event's order id: one payment link, one notification.
func (p *Provider) Key(e Event) string { return e.OrderID }

// Verify decodes a webhook body, JSON or form-encoded, and checks its secret
// against the amount and order id. See the package documentation for what
// the secret covers and which amount texts are tried.
func (p *Provider) Verify(_ context.Context, _ http.Header, body []byte) (Event, error) {
	var w wire
	if err := w.decode(body); err != nil {
		return Event{}, err
	}
	id := string(w.OrderID)
	if id == "" {
		id = string(w.ID)
	}
	switch {
	case id == "":
		return Event{}, fmt.Errorf("kazawallet: %w: no order_id", payhook.ErrMalformed)
	case w.Amount.IsZero():
		return Event{}, fmt.Errorf("kazawallet: %w: no amount", payhook.ErrMalformed)
	case w.Secret == "":
		return Event{}, fmt.Errorf("kazawallet: %w: no secret", payhook.ErrInvalidSignature)
	}
	raw := w.Amount.String()
	signed, ok := p.signer.match(w.Secret, id, raw)
	if !ok {
		fixed, _ := decimal.Fixed(raw, 2)
		short := w.Amount.Canonical()
		if fixed == raw {
			fixed = ""
		}
		if short == raw || short == fixed {
			short = ""
		}
		if signed, ok = p.signer.match(w.Secret, id, fixed, short); !ok {
			return Event{}, fmt.Errorf("kazawallet: %w: secret does not match amount and order_id", payhook.ErrInvalidSignature)
		}
	}
	return Event{
		OrderID:      id,
		Amount:       w.Amount,
		Ref:          string(w.Ref),
		Status:       Status(w.Status),
		Currency:     w.Currency,
		SignedAmount: signed,
	}, nil
}

// LogValue implements slog.LogValuer, so a Provider logs without secrets.
func (p Provider) LogValue() slog.Value {
	return slog.GroupValue(slog.String("provider", Name), slog.String("api_key", secret.Redacted), slog.String("api_secret", secret.Redacted))
}

// String returns a description without secrets.
func (p Provider) String() string {
	return "kazawallet.Provider{api_key: REDACTED, api_secret: REDACTED}"
}

// GoString is String, so that %#v prints no secrets either.
func (p Provider) GoString() string { return p.String() }

// Format writes String whatever the verb, so that no verb prints a secret.
func (p Provider) Format(f fmt.State, _ rune) { io.WriteString(f, p.String()) }

// wire is a webhook body as Kazawallet sends it.
type wire struct {
	OrderID  jsonx.String   `json:"order_id"`
	ID       jsonx.String   `json:"id"`
	Secret   string         `json:"secret"`
	Amount   payhook.Amount `json:"amount"`
	Ref      jsonx.String   `json:"ref"`
	Status   string         `json:"status"`
	Currency string         `json:"currency"`
}

func (w *wire) decode(body []byte) error {
	if jsonx.IsJSON(body) {
		if err := jsonx.Unmarshal(body, w); err != nil {
			return fmt.Errorf("kazawallet: %w: %w", payhook.ErrMalformed, err)
		}
		return nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return fmt.Errorf("kazawallet: %w: body is neither JSON nor a form: %w", payhook.ErrMalformed, err)
	}
	for _, f := range []string{"order_id", "id", "secret", "amount", "ref", "status", "currency"} {
		if len(form[f]) > 1 {
			return fmt.Errorf("kazawallet: %w: field %s repeated", payhook.ErrMalformed, f)
		}
	}
	w.OrderID, w.ID = jsonx.String(form.Get("order_id")), jsonx.String(form.Get("id"))
	w.Secret, w.Ref = form.Get("secret"), jsonx.String(form.Get("ref"))
	w.Status, w.Currency = form.Get("status"), form.Get("currency")
	if a := form.Get("amount"); a != "" {
		if w.Amount, err = payhook.ParseAmount(a); err != nil {
			return fmt.Errorf("kazawallet: %w", err)
		}
	}
	return nil
}
