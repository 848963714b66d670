package kasperopaytest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/internal/providertest"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kasperopay/kasperopaytest"
)

// TestConformance runs payhooktest's provider suite on KasperoPay, unsigned
// and signed, with the genuine payment confirmed by the fake API.
func TestConformance(t *testing.T) {
	clock := payhooktest.NewClock(kpEvent.Timestamp)
	for _, secret := range []string{"", "whsec"} {
		t.Run(map[string]string{"": "unsigned", "whsec": "signed"}[secret], func(t *testing.T) {
			api := kasperopaytest.NewAPI(t)
			api.Confirm(kpEvent)
			opts := []kasperopay.Option{kasperopay.WithConfirmation(api.Client()), kasperopay.WithClock(clock.Now)}
			sender := kasperopaytest.Sender{Secret: secret, Now: clock.Now}
			forged := kpEvent
			forged.AmountKAS = payhook.MustAmount("1500.5") // unsigned: the API does not confirm it
			c := payhooktest.ProviderCase[kasperopay.Event]{
				Genuine:   sender.Request("/webhooks/kasperopay", kpEvent),
				Forged:    []*http.Request{sender.Forged("/webhooks/kasperopay", forged)},
				Malformed: []*http.Request{sender.Request("/webhooks/kasperopay", kasperopay.Event{Type: "payment.expired", PaymentID: "pay_1"})},
			}
			if secret != "" {
				opts = append(opts, kasperopay.WithSecrets(secret))
				body, err := providertest.ReadBody(c.Genuine)
				require.NoError(t, err)
				c.Secrets = []string{secret, kasperopay.Sign(secret, body)}
				c.Forged = append(c.Forged, sender.Forged("/webhooks/kasperopay", kpEvent))
			}
			p, err := kasperopay.New(opts...)
			require.NoError(t, err)
			c.Provider = p
			payhooktest.RunProvider(t, c)
		})
	}
}

// deliverOnce delivers r once through payhook.Handle with p, and checks
// the answer's status and that the application got the event only on 200.
func deliverOnce(t *testing.T, p *kasperopay.Provider, r *http.Request, want int) {
	t.Helper()
	var app payhooktest.Recorder[kasperopay.Event]
	res := deliver.Send(payhooktest.Handler(payhook.Handle(p, app.Handle)), r, deliver.Policy{})
	assert.Equal(t, want, res.Last().Status, res.String())
	assert.Equal(t, want == http.StatusOK, len(app.Events()) == 1)
}

// TestHandle: the genuine webhook reaches the application as sent, with
// the API's answer, and its duplicate costs no call of the API.
func TestHandle(t *testing.T) {
	clock := payhooktest.NewClock(kpEvent.Timestamp)
	api := kasperopaytest.NewAPI(t)
	api.Confirm(kpEvent)
	p, err := kasperopay.New(kasperopay.WithConfirmation(api.Client()), kasperopay.WithSecrets("whsec"), kasperopay.WithClock(clock.Now))
	require.NoError(t, err)
	sender := kasperopaytest.Sender{Secret: "whsec", Now: clock.Now}
	want := kpEvent
	want.Signed = true
	confirmed := kasperopaytest.ConfirmedPayment(kpEvent)
	want.Confirmation = &confirmed
	var app payhooktest.Recorder[kasperopay.Event]
	rt := payhooktest.Handler(payhook.Handle(p, app.Handle))
	for range 2 {
		res := deliver.Send(rt, sender.Request("/webhooks/kasperopay", kpEvent), sender.Policy())
		require.True(t, res.Acknowledged(), res.String())
	}
	assert.Equal(t, []kasperopay.Event{want}, app.Events())
	assert.Len(t, api.Calls(), 1, "a duplicate of a processed payment is acknowledged without asking the API")
}

func TestConfirmation(t *testing.T) {
	pending := kasperopaytest.ConfirmedPayment(kpEvent)
	pending.Status = kasperopay.StatusPending
	other := kasperopaytest.ConfirmedPayment(kpEvent)
	other.AmountKAS = payhook.MustAmount("1.5")
	otherTx := kasperopaytest.ConfirmedPayment(kpEvent)
	otherTx.TxID = "f00"
	tests := []struct {
		name   string
		answer payhooktest.Answer
		want   int
	}{
		{"confirmed", kasperopaytest.Payment(kasperopaytest.ConfirmedPayment(kpEvent)), http.StatusOK},
		{"pending", kasperopaytest.Payment(pending), http.StatusServiceUnavailable},
		{"amount mismatch", kasperopaytest.Payment(other), http.StatusUnauthorized},
		{"transaction mismatch", kasperopaytest.Payment(otherTx), http.StatusUnauthorized},
		{"not found", payhooktest.NotFound(), http.StatusUnauthorized},
		{"down", payhooktest.Down(), http.StatusServiceUnavailable},
		{"hangup", payhooktest.Hangup(), http.StatusServiceUnavailable},
		{"slow", payhooktest.Slow(time.Hour, kasperopaytest.Payment(kasperopaytest.ConfirmedPayment(kpEvent))), http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := kasperopaytest.NewAPI(t)
			api.Set(kpEvent.PaymentID, tt.answer)
			p, err := kasperopay.New(kasperopay.WithConfirmation(api.Client(kasperopay.WithTimeout(50*time.Millisecond))),
				kasperopay.WithClock(payhooktest.NewClock(kpEvent.Timestamp).Now))
			require.NoError(t, err)
			deliverOnce(t, p, kasperopaytest.Sender{}.Request("/webhooks/kasperopay", kpEvent), tt.want)
		})
	}
}
