package acmepay

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/secret"
)

// Name is the provider's name in payhook: it labels logs and prefixes
// idempotency keys.
const Name = "acmepay"

// Provider verifies and decodes AcmePay webhooks. It implements
// payhook.Provider[Event]. Make one with [New]; it is safe for concurrent
// use, and prints and logs with its secrets redacted.
type Provider struct {
	signer    *signer
	tolerance time.Duration
	now       func() time.Time
}

var _ payhook.Provider[Event] = (*Provider)(nil)

// New returns a Provider that accepts webhooks signed with webhookSecret,
// or one of the secrets given with [WithSecrets]. An empty secret is an
// error wrapping payhook.ErrConfig.
func New(webhookSecret string, opts ...Option) (*Provider, error) {
	c := newConfig(opts)
	secrets := append([]string{webhookSecret}, c.secrets...)
	for _, s := range secrets {
		if strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("acmepay: %w: empty webhook secret", payhook.ErrConfig)
		}
	}
	return &Provider{signer: newSigner(secrets), tolerance: c.tolerance, now: c.now}, nil
}

// Name returns "acmepay".
func (p *Provider) Name() string { return Name }

// Key returns the event's id.
func (p *Provider) Key(e Event) string { return e.ID }

// Verify checks the Acme-Signature header against the body and its time,
// before it decodes the body.
func (p *Provider) Verify(_ context.Context, header http.Header, body []byte) (Event, error) {
	t, err := p.signer.check(header.Get(SignatureHeader), body)
	if err != nil {
		return Event{}, err
	}
	if d := p.now().Sub(t); d > p.tolerance || d < -p.tolerance {
		return Event{}, fmt.Errorf("acmepay: %w: signed %s from now, outside the tolerance of %s", payhook.ErrInvalidSignature, d.Round(time.Second), p.tolerance)
	}
	return decode(body)
}

// String returns a description without secrets.
func (p Provider) String() string {
	return fmt.Sprintf("acmepay.Provider{webhook_secret: %s, tolerance: %s}", secret.Redacted, p.tolerance)
}

// GoString is String.
func (p Provider) GoString() string { return p.String() }

// Format writes String whatever the verb.
func (p Provider) Format(f fmt.State, _ rune) { io.WriteString(f, p.String()) }

// LogValue implements slog.LogValuer.
func (p Provider) LogValue() slog.Value {
	return slog.GroupValue(slog.String("provider", Name), slog.String("webhook_secret", secret.Redacted))
}
