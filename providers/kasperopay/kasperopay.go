package kasperopay

import (
	"context"
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
const Name = "kasperopay"

// Provider verifies and decodes KasperoPay webhooks. It implements
// payhook.Provider[Event]. Make one with [New]; it is safe for concurrent
// use, and logs and prints with its webhook secret redacted.
type Provider struct {
	signer *signer // nil without a webhook secret
	client *Client // nil when confirmation is off
	window time.Duration
	maxAge time.Duration
	now    func() time.Time
	// answers remembers settled payments and bounds the status calls in
	// flight.
	answers *apicache.Cache[Payment]
}

var (
	_ payhook.Provider[Event]  = (*Provider)(nil)
	_ payhook.Confirmer[Event] = (*Provider)(nil)
	_ payhook.LocalVerifier    = (*Provider)(nil)
)

// New returns a Provider. Without options it confirms every webhook through
// KasperoPay's status API at DefaultBaseURL, since KasperoPay signs nothing
// by default. Options require a signature ([WithSecrets]), confirm through
// another Client ([WithConfirmation]) or turn confirmation off
// ([WithoutConfirmation], only with secrets). A configuration that would
// verify nothing, or an option given a value it cannot use (an empty
// secret, a nil Client), is an error wrapping payhook.ErrConfig.
func New(opts ...Option) (*Provider, error) {
	c := newConfig(opts)
	if err := c.refused.Err(Name, payhook.ErrConfig); err != nil {
		return nil, err
	}
	if !c.confirm && len(c.secrets) == 0 {
		return nil, fmt.Errorf("kasperopay: %w: WithoutConfirmation without WithSecrets would accept any unsigned body", payhook.ErrConfig)
	}
	p := &Provider{window: c.window, maxAge: c.maxAge, now: c.now}
	if len(c.secrets) > 0 {
		p.signer = newSigner(c.secrets)
	}
	if c.confirm {
		p.client = c.client
		if p.client == nil {
			p.client, _ = NewClient() // the defaults are valid
		}
		p.answers = apicache.New[Payment](c.answerTTL, c.inFlight, p.client.api.Timeout(), maxAnswers, c.now)
		if p.signer == nil { // anyone may post: forged copies of one payment cost one call
			p.answers.Unsettled(unsettledTTL, func(err error) bool { return errors.Is(err, ErrNotFound) })
		}
	}
	return p, nil
}

// Name returns "kasperopay".
func (p *Provider) Name() string { return Name }

// Key returns the event's payment id.
func (p *Provider) Key(e Event) string { return e.PaymentID }

// VerifiesLocally implements payhook.LocalVerifier: with webhook secrets
// ([WithSecrets]) Verify checks the signature with no network call, so
// payhook's rate limit is charged only by deliveries that fail it; without
// them Verify asks the status API, and every delivery is charged first.
func (p *Provider) VerifiesLocally() bool { return p.signer != nil }

// Verify authenticates and decodes a webhook, in this order:
//
//  1. with a webhook secret, the X-KasperoPay-Signature header must be the
//     HMAC of body (else payhook.ErrInvalidSignature);
//  2. body must be a JSON object with event and payment_id (else
//     payhook.ErrMalformed);
//  3. with a webhook secret, its timestamp must be within the replay window
//     of now (else ErrInvalidSignature).
//
// Confirmation through the status API is [Provider.Confirm]'s, which
// payhook's middleware calls once it has claimed the payment id — except
// without a webhook secret, where nothing above authenticates the sender:
// then Verify confirms the payment itself, before the middleware claims its
// id, so that a forged webhook naming a real payment id never holds that id
// while the genuine delivery, which KasperoPay sends only once, arrives.
// When that confirmation cannot conclude (payhook.ErrPending,
// payhook.ErrUnavailable), Verify returns the decoded event with the error.
func (p *Provider) Verify(ctx context.Context, header http.Header, body []byte) (Event, error) {
	if p.signer != nil {
		sig := header.Get(SignatureHeader)
		//lint:ignore SA1008 a literal http.Header may be keyed with SignatureHeader's own spelling
		if v := header[SignatureHeader]; sig == "" && len(v) > 0 {
			sig = v[0]
		}
		if sig == "" {
			return Event{}, fmt.Errorf("kasperopay: %w: no %s header", payhook.ErrInvalidSignature, SignatureHeader)
		}
		if !p.signer.check(sig, body) {
			return Event{}, fmt.Errorf("kasperopay: %w: %s does not match the body", payhook.ErrInvalidSignature, SignatureHeader)
		}
	}
	e, err := decode(body)
	if err != nil {
		return Event{}, err
	}
	if p.signer != nil {
		e.Signed = true
		if err := p.checkTimestamp(e.Timestamp); err != nil {
			return Event{}, err
		}
	} else if err := p.Confirm(ctx, &e); err != nil {
		if errors.Is(err, payhook.ErrPending) || errors.Is(err, payhook.ErrUnavailable) {
			return e, err // genuine as far as can be told: an inbox may confirm it later
		}
		return Event{}, err
	}
	return e, nil
}

// Confirm implements payhook.Confirmer. Unless confirmation is off, the
// status API must say the payment is completed, with the same amount_kas
// (compared as numbers), when both sides have one the same transaction id,
// and a confirmed_at no older than the maximum age ([WithMaxAge]), else
// payhook.ErrInvalidSignature; the answer is recorded in
// e.Confirmation. A payment the API says is pending or confirming is
// payhook.ErrPending; when the API cannot be consulted the error wraps
// payhook.ErrUnavailable. In both cases the payment is logged at error
// level: KasperoPay will not send the webhook again.
func (p *Provider) Confirm(ctx context.Context, e *Event) error {
	if p.client == nil || e.Confirmation != nil { // off, or already confirmed by Verify
		return nil
	}
	return p.confirm(ctx, e)
}

// checkTimestamp bounds replays of a signed body.
func (p *Provider) checkTimestamp(ts time.Time) error {
	if ts.IsZero() {
		return fmt.Errorf("kasperopay: %w: signed webhook has no usable timestamp", payhook.ErrInvalidSignature)
	}
	if d := p.now().Sub(ts); d > p.window || d < -p.window {
		return fmt.Errorf("kasperopay: %w: timestamp %s is %s from now, outside the replay window of %s",
			payhook.ErrInvalidSignature, ts.Format(time.RFC3339), d.Round(time.Second), p.window)
	}
	return nil
}

// confirm checks e against the status API and records the answer in e.
func (p *Provider) confirm(ctx context.Context, e *Event) error {
	if e.AmountKAS.IsZero() {
		return fmt.Errorf("kasperopay: %w: payment %q: webhook has no amount_kas to confirm", payhook.ErrInvalidSignature, e.PaymentID)
	}
	pay, err := p.answers.Get(ctx, e.PaymentID, func(ctx context.Context) (Payment, error) {
		return p.client.Status(ctx, e.PaymentID)
	}, settled)
	if err != nil && (errors.Is(err, apicache.ErrBusy) || ctx.Err() != nil) {
		err = fmt.Errorf("kasperopay: %w: status of %q: %w", payhook.ErrUnavailable, e.PaymentID, err)
	}
	switch {
	case errors.Is(err, payhook.ErrUnavailable):
		return unconfirmed(e, "the status API could not be consulted", err)
	case errors.Is(err, ErrNotFound):
		return fmt.Errorf("%w: %w", payhook.ErrInvalidSignature, err)
	case err != nil:
		return err
	}
	// The payment's age is measured when its webhook arrived: a delivery an
	// inbox kept through an outage is confirmed later, and is no replay.
	arrived, ok := payhook.ReceivedAt(ctx)
	if !ok {
		arrived = p.now()
	}
	var why string
	switch {
	case pay.PaymentID != "" && pay.PaymentID != e.PaymentID:
		why = fmt.Sprintf("status API answered for payment %q", pay.PaymentID)
	case pay.Status == StatusPending || pay.Status == StatusConfirming:
		// Maybe a real payment the API has not caught up with: not a
		// forgery, not yet a payment.
		return unconfirmed(e, "the status API does not say completed yet", fmt.Errorf("%w: status %q", payhook.ErrPending, pay.Status))
	case !pay.Completed():
		why = fmt.Sprintf("status API says %q, not completed", pay.Status)
	case !pay.AmountKAS.Equal(e.AmountKAS):
		why = fmt.Sprintf("amount_kas %s, status API says %s", e.AmountKAS, pay.AmountKAS)
	case e.TransactionID != "" && pay.TxID != "" && !strings.EqualFold(e.TransactionID, pay.TxID):
		why = fmt.Sprintf("transaction_id %q, status API says %q", e.TransactionID, pay.TxID)
	case pay.ConfirmedAt.IsZero():
		why = "status API gives no confirmed_at, so a replay cannot be told from a new payment"
	case arrived.Sub(pay.ConfirmedAt) > p.maxAge:
		why = fmt.Sprintf("payment confirmed at %s, %s before the webhook arrived, longer than the maximum age of %s: a replayed webhook (KasperoPay sends each once, at once)",
			pay.ConfirmedAt.UTC().Format(time.RFC3339), arrived.Sub(pay.ConfirmedAt).Round(time.Second), p.maxAge)
	}
	if why != "" {
		return fmt.Errorf("kasperopay: %w: payment %q not confirmed: %s", payhook.ErrInvalidSignature, e.PaymentID, why)
	}
	e.Confirmation = &pay
	return nil
}

// maxAnswers bounds the payments the Provider remembers.
const maxAnswers = 10_000

// unsettledTTL is how long a "pending" or "not found" answer is
// remembered without a webhook secret: forged webhooks naming one payment,
// and the inbox's retries of it, then cost one status call per payment
// that long.
const unsettledTTL = 10 * time.Second

// settled reports whether a payment's status is final, so that the status
// API's answer can be remembered ([WithAnswerTTL]).
func settled(p Payment) bool { return p.Status == StatusCompleted || p.Status == StatusExpired }

// unconfirmed is the error of a payment the status API could not confirm
// yet (cause wraps payhook.ErrUnavailable or payhook.ErrPending). KasperoPay
// will not send the webhook again, and unless an inbox keeps it
// (payhook.WithInbox), the middleware's log line of this error, at error
// level, is the only record of the payment: it names it in full.
func unconfirmed(e *Event, why string, cause error) error {
	return fmt.Errorf("kasperopay: PAYMENT NOT CONFIRMED: %s, and KasperoPay will not resend this webhook: "+
		"check the payment by hand (payment_id=%q order_id=%q amount_kas=%s amount_usd=%s transaction_id=%q merchant_id=%q customer_address=%q timestamp=%s): %w",
		why, e.PaymentID, e.OrderID, e.AmountKAS, e.AmountUSD, e.TransactionID, e.MerchantID, e.CustomerAddress,
		e.Timestamp.Format(time.RFC3339), cause)
}

// LogValue implements slog.LogValuer, so a Provider logs without its
// secret.
func (p Provider) LogValue() slog.Value {
	return slog.GroupValue(slog.String("provider", Name), slog.String("webhook_secret", p.secretText()),
		slog.Bool("confirmation", p.client != nil))
}

// String returns a description without the secret.
func (p Provider) String() string {
	return fmt.Sprintf("kasperopay.Provider{webhook_secret: %s, confirmation: %t}", p.secretText(), p.client != nil)
}

// GoString is String, so that %#v prints no secret either.
func (p Provider) GoString() string { return p.String() }

// Format writes String whatever the verb, so that no verb prints the
// secret.
func (p Provider) Format(f fmt.State, _ rune) { io.WriteString(f, p.String()) }

func (p Provider) secretText() string {
	if p.signer == nil {
		return "none"
	}
	return secret.Redacted
}
