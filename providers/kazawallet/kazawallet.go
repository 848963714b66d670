package kazawallet

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/decimal"
	"github.com/payhook/payhook/internal/secret"
)

// Name is the provider's name in payhook: it labels logs and prefixes
// idempotency keys.
const Name = "kazawallet"

// Provider verifies and decodes Kazawallet webhooks for one merchant
// account. It implements payhook.Provider[Event]. Make one with [New]; it is
// safe for concurrent use, and logs and prints with its secrets redacted.
type Provider struct {
	signers []*signer // one per key pair: New's, then WithSecrets'
}

var (
	_ payhook.Provider[Event] = (*Provider)(nil)
	_ payhook.LocalVerifier   = (*Provider)(nil)
)

// New returns a Provider for the merchant account with apiKey and apiSecret,
// the credentials shown in Kazawallet's merchant settings, and the key
// pairs given with [WithSecrets]. Every key and secret is required: an
// empty one is an error wrapping payhook.ErrConfig, never "verification
// off".
func New(apiKey, apiSecret string, opts ...Option) (*Provider, error) {
	c := newConfig(opts)
	p := &Provider{}
	for _, kp := range append([]KeyPair{{apiKey, apiSecret}}, c.pairs...) {
		switch {
		case strings.TrimSpace(kp.APIKey) == "":
			return nil, fmt.Errorf("kazawallet: %w: empty API key", payhook.ErrConfig)
		case strings.TrimSpace(kp.APISecret) == "":
			return nil, fmt.Errorf("kazawallet: %w: empty API secret", payhook.ErrConfig)
		}
		p.signers = append(p.signers, newSigner(kp.APIKey, kp.APISecret))
	}
	return p, nil
}

// Name returns "kazawallet".
func (p *Provider) Name() string { return Name }

// Key returns the event's order id: one payment link, one notification.
func (p *Provider) Key(e Event) string { return e.OrderID }

// VerifiesLocally implements payhook.LocalVerifier: Verify checks the
// signature with no network call, so payhook's rate limit is charged only
// by deliveries that fail it.
func (p *Provider) VerifiesLocally() bool { return true }

// Verify decodes a webhook body, JSON or form-encoded, and checks its secret
// against the amount and order id with every key pair. See the package
// documentation for what the secret covers and which amount texts are
// tried.
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
		return Event{}, fmt.Errorf("kazawallet: %w: no %s", payhook.ErrInvalidSignature, SignatureField)
	}
	// The text as received first: it is what Kazawallet signs in every
	// webhook seen, so the other forms are computed only when it fails.
	raw := w.Amount.String()
	signed := p.match(w.Secret, id, raw, "", "")
	if signed == "" {
		fixed, _ := decimal.Fixed(raw, 2)
		short := w.Amount.Canonical()
		if fixed == raw {
			fixed = ""
		}
		if short == raw || short == fixed {
			short = ""
		}
		if fixed != "" || short != "" {
			signed = p.match(w.Secret, id, fixed, short, "")
		}
	}
	if signed == "" {
		return Event{}, fmt.Errorf("kazawallet: %w: %s does not match amount and order_id", payhook.ErrInvalidSignature, SignatureField)
	}
	return Event{
		OrderID:      id,
		Amount:       w.Amount,
		Ref:          string(w.Ref),
		Type:         EventType(w.Status),
		Currency:     w.Currency,
		SignedAmount: signed,
	}, nil
}

// match returns the first of the amounts that secret signs with id under
// any of the key pairs, or "". Every pair is tried, whichever matches, so
// that the time taken does not tell which pair did.
func (p *Provider) match(secret, id, a1, a2, a3 string) string {
	signed := ""
	for _, s := range p.signers {
		if a, ok := s.match(secret, id, a1, a2, a3); ok && signed == "" {
			signed = a
		}
	}
	return signed
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
