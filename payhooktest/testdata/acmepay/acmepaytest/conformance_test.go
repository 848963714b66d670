package acmepaytest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/internal/providertest"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/acmepay"
	"github.com/payhook/payhook/providers/acmepay/acmepaytest"
)

var event = acmepay.Event{ID: "evt_1", Type: acmepay.ChargeSucceeded, ChargeID: "ch_1", Amount: payhook.MustAmount("12.50"), Currency: "EUR"}

// TestConformance runs payhooktest's provider suite on AcmePay, its secret
// being rotated.
func TestConformance(t *testing.T) {
	clock := payhooktest.NewClock(time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC))
	p, err := acmepay.New("whsec_old_7c1e", acmepay.WithSecrets("whsec_new_2b9d"), acmepay.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	sender := acmepaytest.Sender{Secret: "whsec_new_2b9d", Now: clock.Now}
	genuine := sender.Request("/webhooks/acmepay", event)
	body, err := providertest.ReadBody(genuine)
	if err != nil {
		t.Fatal(err)
	}
	old := acmepaytest.Sender{Secret: "whsec_new_2b9d", Now: func() time.Time { return clock.Now().Add(-time.Hour) }}
	unknown := event
	unknown.Type = "charge.refunded"
	payhooktest.RunProvider(t, payhooktest.ProviderCase[acmepay.Event]{
		Provider:  p,
		Genuine:   genuine,
		Forged:    []*http.Request{sender.Forged("/webhooks/acmepay", event), old.Request("/webhooks/acmepay", event)},
		Malformed: []*http.Request{sender.Request("/webhooks/acmepay", unknown)},
		Secrets:   []string{"whsec_old_7c1e", "whsec_new_2b9d", acmepay.Sign("whsec_new_2b9d", clock.Now(), body)},
	})
}

// TestRetries: AcmePay's retries reach a handler that failed twice.
func TestRetries(t *testing.T) {
	p, err := acmepay.New("whsec")
	if err != nil {
		t.Fatal(err)
	}
	var app payhooktest.Recorder[acmepay.Event]
	app.FailNext(2)
	sender := acmepaytest.Sender{Secret: "whsec"}
	res := deliver.Send(payhooktest.Handler(payhook.Handle(p, app.Handle)), sender.Request("/", event), sender.Policy())
	if !res.Acknowledged() || len(app.Events()) != 1 {
		t.Fatalf("not processed once: %v, %d events", res, len(app.Events()))
	}
}
