package kkiapay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/apicache"
	"github.com/payhook/payhook/internal/secret"
)

// Name is the provider's name in payhook: it labels logs and prefixes
// idempotency keys.
const Name = "kkiapay"

// Provider verifies and decodes KKiaPay webhooks for one merchant account.
// It implements payhook.Provider[Event]. Make one with [New]; it is safe for
// concurrent use, and logs and prints with its secrets redacted.
type Provider struct {
	secrets *secrets
	confirm *Client // nil: no confirmation
	answers *apicache.Cache[Transaction]
}

var (
	_ payhook.Provider[Event]  = (*Provider)(nil)
	_ payhook.Confirmer[Event] = (*Provider)(nil)
	_ payhook.LocalVerifier    = (*Provider)(nil)
)

// New returns a Provider that accepts webhooks whose x-kkiapay-secret header
// is hashSecret, the "hash secret" set with the webhook on KKiaPay's
// dashboard, or one of the secrets given with [WithSecrets]. Leading and
// trailing white space is dropped from each secret, since an HTTP header
// value cannot carry it. An empty secret, or an option given a value it
// cannot use (a nil client for [WithConfirmation]), is an error wrapping
// payhook.ErrConfig: verification is never off.
func New(hashSecret string, opts ...Option) (*Provider, error) {
	c := newConfig(opts)
	if err := c.refused.Err(Name, payhook.ErrConfig); err != nil {
		return nil, err
	}
	s := &secrets{}
	for _, v := range append([]string{hashSecret}, c.secrets...) {
		if strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("kkiapay: %w: empty hash secret", payhook.ErrConfig)
		}
		s.digests = append(s.digests, sha256.Sum256([]byte(strings.TrimSpace(v))))
	}
	return &Provider{secrets: s, confirm: c.confirm,
		answers: apicache.New[Transaction](c.answerTTL, c.inFlight, slotWait, maxAnswers, c.now)}, nil
}

// Name returns "kkiapay".
func (p *Provider) Name() string { return Name }

// Key returns the event's transaction id.
func (p *Provider) Key(e Event) string { return e.TransactionID }

// VerifiesLocally implements payhook.LocalVerifier: Verify compares the
// x-kkiapay-secret header with no network call (confirmation, when on,
// comes after the claim), so payhook's rate limit is charged only by
// deliveries that fail it.
func (p *Provider) VerifiesLocally() bool { return true }

// Verify checks the x-kkiapay-secret header against the configured secrets,
// before it reads the body; then decodes the body. A missing,
// repeated-and-differing or wrong header is payhook.ErrInvalidSignature; a
// body that is not a JSON object with a transactionId is
// payhook.ErrMalformed. Confirmation with the status API is [Provider.Confirm]'s.
func (p *Provider) Verify(_ context.Context, header http.Header, body []byte) (Event, error) {
	got, err := secretValue(header)
	if err != nil {
		return Event{}, err
	}
	if !p.secrets.match(got) {
		return Event{}, fmt.Errorf("kkiapay: %w: %s does not match the hash secret", payhook.ErrInvalidSignature, SignatureHeader)
	}
	return decode(body)
}

// Confirm implements payhook.Confirmer: with [WithConfirmation], it asks
// the status API about e's transaction and accepts it only if the API agrees
// on status and amount, recording the answer in e.Confirmation; without, it
// accepts every event. payhook's middleware calls it after claiming the
// event; see the package documentation for its answers.
func (p *Provider) Confirm(ctx context.Context, e *Event) error {
	if p.confirm == nil {
		return nil
	}
	return p.confirmWith(ctx, e)
}

// The answer cache's bounds: how long a confirmation waits for a call slot,
// and how many answers it remembers.
const (
	slotWait   = 10 * time.Second
	maxAnswers = 10_000
)

// settled reports whether a transaction's status is final, so that the
// status API's answer can be remembered ([WithAnswerTTL]).
func settled(tx Transaction) bool {
	return tx.Status == StatusSuccess || tx.Status == StatusFailed || tx.Status == StatusReverted
}

// confirmWith checks e against the status API (or its answer remembered
// for the transaction), and fills e.Confirmation (and e.Amount, when the
// webhook had none).
func (p *Provider) confirmWith(ctx context.Context, e *Event) error {
	tx, err := p.answers.Get(ctx, e.TransactionID, func(ctx context.Context) (Transaction, error) {
		return p.confirm.Status(ctx, e.TransactionID)
	}, settled)
	if err != nil && (errors.Is(err, apicache.ErrBusy) || ctx.Err() != nil) {
		return fmt.Errorf("kkiapay: %w: confirming transaction %.64q: %w", payhook.ErrUnavailable, e.TransactionID, err)
	}
	tx.Raw, tx.State = bytes.Clone(tx.Raw), bytes.Clone(tx.State) // the cache's copy stays its own
	switch {
	case errors.Is(err, ErrNotFound):
		return fmt.Errorf("kkiapay: %w: transaction %.64q unknown to the status API", payhook.ErrInvalidSignature, e.TransactionID)
	case errors.Is(err, payhook.ErrUnavailable):
		return err
	case err != nil: // an API error such as 401: retrying may help, and it is not the sender's fault
		return fmt.Errorf("kkiapay: %w: confirming transaction %.64q: %w", payhook.ErrUnavailable, e.TransactionID, err)
	}
	if tx.TransactionID != "" && tx.TransactionID != e.TransactionID {
		return fmt.Errorf("kkiapay: %w: status API answered for transaction %.64q, not %.64q", payhook.ErrInvalidSignature, tx.TransactionID, e.TransactionID)
	}
	switch want := statusOf(e.Type); tx.Status {
	case want:
	case StatusPending:
		return fmt.Errorf("kkiapay: %w: webhook says %s but transaction %.64q is still PENDING", payhook.ErrPending, e.Type, e.TransactionID)
	default:
		return fmt.Errorf("kkiapay: %w: webhook says %s but the status API says %.20q", payhook.ErrInvalidSignature, e.Type, tx.Status)
	}
	if e.Amount.IsZero() {
		e.Amount = tx.Amount
	} else if !e.Amount.Equal(tx.Amount) {
		return fmt.Errorf("kkiapay: %w: webhook amount %s but the status API says %s", payhook.ErrInvalidSignature, e.Amount, tx.Amount)
	}
	e.Confirmation = &tx
	return nil
}

// statusOf is the transaction status an event type claims. Verify refuses
// every other type.
func statusOf(t EventType) Status {
	switch t {
	case TransactionSuccess:
		return StatusSuccess
	case TransactionFailed:
		return StatusFailed
	}
	return ""
}

// LogValue implements slog.LogValuer, so a Provider logs without secrets.
func (p Provider) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("provider", Name), slog.String("hash_secret", secret.Redacted),
		slog.Int("secrets", len(p.secrets.digests)), slog.Bool("confirmation", p.confirm != nil)}
	if p.confirm != nil {
		attrs = append(attrs, slog.String("api", p.confirm.base))
	}
	return slog.GroupValue(attrs...)
}

// String returns a description without secrets.
func (p Provider) String() string {
	s := fmt.Sprintf("kkiapay.Provider{hash_secret: REDACTED, secrets: %d", len(p.secrets.digests))
	if p.confirm != nil {
		s += ", confirmation: " + p.confirm.String()
	}
	return s + "}"
}

// GoString is String, so that %#v prints no secrets either.
func (p Provider) GoString() string { return p.String() }

// Format writes String whatever the verb, so that no verb prints a secret.
func (p Provider) Format(f fmt.State, _ rune) { io.WriteString(f, p.String()) }
