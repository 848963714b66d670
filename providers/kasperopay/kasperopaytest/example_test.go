package kasperopaytest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kasperopay/kasperopaytest"
)

// KasperoPay signs nothing by default: its webhooks are confirmed through
// the status API. The fake answers per payment: confirmed, another amount,
// unknown, down or slow.
func ExampleAPI() {
	api := kasperopaytest.NewAPI(nil)
	defer api.Close()
	kp, err := kasperopay.New(kasperopay.WithConfirmation(api.Client(kasperopay.WithTimeout(50 * time.Millisecond))))
	if err != nil {
		panic(err)
	}
	h := payhooktest.Handler(payhook.Handle(kp, func(ctx context.Context, e kasperopay.Event) error { return nil }))
	sender := kasperopaytest.Sender{}
	event := func(id string) kasperopay.Event {
		return kasperopay.Event{Type: kasperopay.PaymentCompleted, PaymentID: id, AmountKAS: payhook.MustAmount("150.5")}
	}

	api.Confirm(event("pay_ok"))
	cheaper := kasperopaytest.ConfirmedPayment(event("pay_cheaper"))
	cheaper.AmountKAS = payhook.MustAmount("1.5")
	api.Set("pay_cheaper", kasperopaytest.Payment(cheaper))
	api.Set("pay_down", payhooktest.Down())
	api.Set("pay_slow", payhooktest.Slow(time.Hour, kasperopaytest.Payment(kasperopaytest.ConfirmedPayment(event("pay_slow")))))
	for _, id := range []string{"pay_ok", "pay_cheaper", "pay_unknown", "pay_down", "pay_slow"} {
		res := deliver.Send(h, sender.Request("/webhooks/kasperopay", event(id)), sender.Policy())
		fmt.Println(id, res.Last().Status)
	}
	// Output:
	// pay_ok 200
	// pay_cheaper 401
	// pay_unknown 401
	// pay_down 503
	// pay_slow 503
}
