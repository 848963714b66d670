package payhook

// Payment is the one view of a payment that every provider's event gives
// (kazawallet.Event.Payment, kkiapay.Event.Payment,
// kasperopay.Event.Payment), so that a shop taking several providers
// writes one func that credits orders. It is a value, safe for concurrent
// use; its zero value is no payment.
//
// What vouches for each field differs between providers: the package
// documentation of each says what its signature proves. Here, Ref is the
// one field that may be the sender's word alone, and RefVouched says
// whether it is; find orders by ID, or through an expectation
// (package [github.com/payhook/payhook/expect] and [WithExpectations]),
// never by an unvouched Ref.
type Payment struct {
	// Provider is the provider's name ("kazawallet").
	Provider string `json:"provider"`
	// ID is the provider's payment id, the event's idempotency key:
	// Kazawallet's order_id, KKiaPay's transactionId, KasperoPay's
	// payment_id.
	ID string `json:"id"`
	// Ref is the merchant's own reference given when the payment was
	// made: Kazawallet's ref, KKiaPay's partnerId, KasperoPay's order_id;
	// "" when there is none.
	Ref string `json:"ref,omitempty"`
	// RefVouched reports that a signature or the provider's status API
	// vouches for Ref: KKiaPay's when the status API confirmed the
	// transaction, KasperoPay's when the body's HMAC was checked; never
	// Kazawallet's, whose signature covers the amount and order id only.
	RefVouched bool `json:"ref_vouched"`
	// Amount is the amount paid, exact: Kazawallet's amount (signed),
	// KKiaPay's amount, KasperoPay's amount_kas (the KAS paid). Zero when
	// the event has none (most failures).
	Amount Amount `json:"amount,omitzero"`
	// Currency is the amount's currency: Kazawallet's currency (not
	// signed), "XOF" for KKiaPay, "KAS" for KasperoPay.
	Currency string `json:"currency,omitempty"`
	// Outcome is what became of the payment; "" for a status the provider
	// does not document as final.
	Outcome PaymentOutcome `json:"outcome"`
}

// Paid reports whether the payment succeeded.
func (p Payment) Paid() bool { return p.Outcome == PaymentPaid }

// PaymentOutcome is what became of a payment. Its values are stable, and
// the same words as an expectation's outcome (expect.OutcomePaid, ...).
type PaymentOutcome string

// The outcomes of a payment.
const (
	// PaymentPaid: the payment succeeded (Kazawallet fulfilled, KKiaPay
	// transaction.success, KasperoPay payment.completed).
	PaymentPaid PaymentOutcome = "paid"
	// PaymentFailed: the payment failed or was reversed (KKiaPay
	// transaction.failed, or REVERTED through the status API).
	PaymentFailed PaymentOutcome = "failed"
	// PaymentExpired: the payment expired unpaid (KasperoPay's status API
	// says expired).
	PaymentExpired PaymentOutcome = "expired"
	// PaymentTimedOut: the payment link timed out unpaid (Kazawallet
	// timed_out).
	PaymentTimedOut PaymentOutcome = "timed_out"
)

// Payer is implemented by every provider's event: it gives the event's
// [Payment]. [WithExpectations] needs it.
type Payer interface {
	Payment() Payment
}
