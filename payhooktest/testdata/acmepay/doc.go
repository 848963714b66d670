// Package acmepay receives AcmePay payment webhooks for payhook. AcmePay is
// made up: this package is the fourth provider that CONTRIBUTING.md's
// "Adding a provider" walks through, added without changing any file of
// payhook (payhooktest's TestAddingAProvider builds and tests it in place,
// as providers/acmepay, through an overlay).
//
//	ap, err := acmepay.New(os.Getenv("ACMEPAY_WEBHOOK_SECRET"))
//	if err != nil {
//		log.Fatal(err) // an empty secret is refused
//	}
//	http.Handle("POST /webhooks/acmepay", payhook.Handle(ap, func(ctx context.Context, e acmepay.Event) error {
//		if !e.Paid() {
//			return nil
//		}
//		return orders.MarkPaid(ctx, e.ChargeID, e.Amount)
//	}))
//
// # What AcmePay sends
//
// A JSON POST per event: {"id":"evt_1","type":"charge.succeeded",
// "created":1767366245,"data":{"charge_id":"ch_1","amount":"12.50",
// "currency":"EUR"}}, with the header Acme-Signature: t=<unix seconds>,v1=<hex
// HMAC-SHA256 of "<t>.<body>" keyed with the webhook secret>. AcmePay
// retries a delivery not answered 2xx three times, a minute apart.
//
// # What the signature proves, and what it does not
//
// The HMAC covers the whole body and the time it was sent: a delivery that
// verifies was sent by the holder of the secret, as it is, at t. A replay
// is refused once t is older than the tolerance ([WithTolerance], five
// minutes); within it, the idempotency store recognises the event's id.
// Event types AcmePay does not document are refused (400).
//
// # Rotating the secret
//
// Give the new secret with [WithSecrets] beside the old, change it on
// AcmePay's dashboard, then drop the old one.
package acmepay
