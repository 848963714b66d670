package kazawallet_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kazawallet"
)

func TestPaymentView(t *testing.T) {
	for typ, want := range map[kazawallet.EventType]payhook.PaymentOutcome{
		kazawallet.Fulfilled: payhook.PaymentPaid, kazawallet.TimedOut: payhook.PaymentTimedOut, "pending": "",
	} {
		e := kazawallet.Event{OrderID: "ord_1", Ref: "order_1", Type: typ, Amount: payhook.MustAmount("10.00"), Currency: "USD"}
		assert.Equal(t, payhook.Payment{Provider: "kazawallet", ID: "ord_1", Ref: "order_1", Amount: payhook.MustAmount("10.00"),
			Currency: "USD", Outcome: want}, e.Payment(), "status %q: the ref is never vouched for", typ)
	}
}
