package kkiapaytest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kkiapay"
	"github.com/payhook/payhook/providers/kkiapay/kkiapaytest"
)

// TestConformance runs payhooktest's provider suite on KKiaPay, with the
// header alone and with confirmation, the hash secret being rotated.
func TestConformance(t *testing.T) {
	api := kkiapaytest.NewAPI(t)
	api.Confirm(kkEvent)
	for _, confirm := range []bool{false, true} {
		t.Run(map[bool]string{false: "header only", true: "confirmed"}[confirm], func(t *testing.T) {
			opts := []kkiapay.Option{kkiapay.WithSecrets("kk-hash-new-51c0")}
			if confirm {
				opts = append(opts, kkiapay.WithConfirmation(api.Client()))
			}
			p, err := kkiapay.New("kk-hash-old-9a3e", opts...)
			require.NoError(t, err)
			sender := kkiapaytest.Sender{Secret: "kk-hash-new-51c0"}
			c := payhooktest.ProviderCase[kkiapay.Event]{
				Provider: p,
				Genuine:  sender.Request("/webhooks/kkiapay", kkEvent),
				Forged:   []*http.Request{sender.Forged("/webhooks/kkiapay", kkEvent)},
				Malformed: []*http.Request{sender.Request("/webhooks/kkiapay", kkiapay.Event{TransactionID: "tx_2", Type: "transaction.pending"}),
					sender.Request("/webhooks/kkiapay", kkiapay.Event{Type: kkiapay.TransactionSuccess})},
				Secrets: []string{"kk-hash-old-9a3e", "kk-hash-new-51c0", kkiapaytest.PublicKey, kkiapaytest.PrivateKey, kkiapaytest.SecretKey},
			}
			if confirm {
				forged := kkEvent
				forged.Amount = payhook.MustAmount("1000000") // with the right header, but the API disagrees
				c.Forged = append(c.Forged, sender.Request("/webhooks/kkiapay", forged))
			}
			payhooktest.RunProvider(t, c)
		})
	}
}

// deliverOnce delivers r once through payhook.Handle with p, and checks
// the answer's status and that the application got the event only on 200.
func deliverOnce(t *testing.T, p *kkiapay.Provider, r *http.Request, want int) {
	t.Helper()
	var app payhooktest.Recorder[kkiapay.Event]
	res := deliver.Send(payhooktest.Handler(payhook.Handle(p, app.Handle)), r, deliver.Policy{})
	assert.Equal(t, want, res.Last().Status, res.String())
	assert.Equal(t, want == http.StatusOK, len(app.Events()) == 1)
}

// TestHandle: the genuine webhook reaches the application as sent (and,
// with confirmation, with the API's answer).
func TestHandle(t *testing.T) {
	api := kkiapaytest.NewAPI(t)
	api.Confirm(kkEvent)
	for _, confirm := range []bool{false, true} {
		t.Run(map[bool]string{false: "header only", true: "confirmed"}[confirm], func(t *testing.T) {
			var opts []kkiapay.Option
			want := kkEvent
			yes := true
			want.PaymentSucceeded, want.StateData = &yes, []byte("{}")
			if confirm {
				opts = append(opts, kkiapay.WithConfirmation(api.Client()))
				tx := kkiapaytest.ConfirmedTransaction(kkEvent)
				tx.State = nil
				want.Confirmation = &tx
			}
			p, err := kkiapay.New("hash_secret", opts...)
			require.NoError(t, err)
			var app payhooktest.Recorder[kkiapay.Event]
			sender := kkiapaytest.Sender{Secret: "hash_secret"}
			res := deliver.Send(payhooktest.Handler(payhook.Handle(p, app.Handle)), sender.Request("/webhooks/kkiapay", kkEvent), sender.Policy())
			require.True(t, res.Acknowledged(), res.String())
			got := app.Events()
			require.Len(t, got, 1)
			if confirm && assert.NotNil(t, got[0].Confirmation) {
				assert.NotEmpty(t, got[0].Confirmation.Raw, "the API's answer as received")
				got[0].Confirmation.Raw = nil
			}
			assert.Equal(t, want, got[0])
		})
	}
}

// TestRetriesAFailedHandler replays KKiaPay's schedule against a
// handler that fails twice: the third attempt is processed, once.
func TestRetriesAFailedHandler(t *testing.T) {
	p, err := kkiapay.New("hash_secret")
	require.NoError(t, err)
	sender := kkiapaytest.Sender{Secret: "hash_secret"}
	var app payhooktest.Recorder[kkiapay.Event]
	app.FailNext(2)
	rt := payhooktest.Handler(payhook.Handle(p, app.Handle))

	res := deliver.Send(rt, sender.Request("/webhooks/kkiapay", kkEvent), sender.Policy())
	assert.Equal(t, []int{500, 500, 200}, res.Statuses(), res.String())
	assert.Equal(t, time.Second, res.Last().Wait)
	assert.Len(t, app.Events(), 1)
	assert.Equal(t, 3, app.Calls())

	res = deliver.Send(rt, sender.Request("/webhooks/kkiapay", kkEvent), sender.Policy())
	assert.Equal(t, "already processed\n", res.Last().Body)
	assert.Equal(t, 3, app.Calls(), "the processed event does not reach the handler again")
}

func TestConfirmation(t *testing.T) {
	pending := kkiapaytest.ConfirmedTransaction(kkEvent)
	pending.Status = kkiapay.StatusPending
	other := kkiapaytest.ConfirmedTransaction(kkEvent)
	other.Amount = payhook.MustAmount("100")
	failed := kkiapaytest.ConfirmedTransaction(kkEvent)
	failed.Status = kkiapay.StatusFailed
	tests := []struct {
		name   string
		answer payhooktest.Answer
		want   int
	}{
		{"confirmed", kkiapaytest.Transaction(kkiapaytest.ConfirmedTransaction(kkEvent)), http.StatusOK},
		{"pending", kkiapaytest.Transaction(pending), http.StatusServiceUnavailable},
		{"amount mismatch", kkiapaytest.Transaction(other), http.StatusUnauthorized},
		{"status mismatch", kkiapaytest.Transaction(failed), http.StatusUnauthorized},
		{"not found", payhooktest.NotFound(), http.StatusUnauthorized},
		{"down", payhooktest.Down(), http.StatusServiceUnavailable},
		{"hangup", payhooktest.Hangup(), http.StatusServiceUnavailable},
		{"slow", payhooktest.Slow(time.Hour, kkiapaytest.Transaction(kkiapaytest.ConfirmedTransaction(kkEvent))), http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := kkiapaytest.NewAPI(t)
			api.Set(kkEvent.TransactionID, tt.answer)
			cl := api.Client(kkiapay.WithTimeout(50 * time.Millisecond))
			p, err := kkiapay.New("hash_secret", kkiapay.WithConfirmation(cl))
			require.NoError(t, err)
			deliverOnce(t, p, kkiapaytest.Sender{Secret: "hash_secret"}.Request("/webhooks/kkiapay", kkEvent), tt.want)
		})
	}
}

// TestRetryCatchesUpWithTheAPI: the webhook comes before the status
// API says SUCCESS; KKiaPay's retry, once the API has caught up, is
// processed.
func TestRetryCatchesUpWithTheAPI(t *testing.T) {
	api := kkiapaytest.NewAPI(t)
	pending := kkiapaytest.ConfirmedTransaction(kkEvent)
	pending.Status = kkiapay.StatusPending
	api.Set(kkEvent.TransactionID, kkiapaytest.Transaction(pending))
	p, err := kkiapay.New("hash_secret", kkiapay.WithConfirmation(api.Client()))
	require.NoError(t, err)
	var app payhooktest.Recorder[kkiapay.Event]
	sender := kkiapaytest.Sender{Secret: "hash_secret"}
	policy := sender.Policy()
	policy.Sleep = func(ctx context.Context, d time.Duration) error {
		if d == 2*kkiapay.RetryInterval { // by the second retry the payment has gone through
			api.Confirm(kkEvent)
		}
		return nil
	}
	res := deliver.Send(payhooktest.Handler(payhook.Handle(p, app.Handle)), sender.Request("/webhooks/kkiapay", kkEvent), policy)
	assert.Equal(t, []int{503, 503, 200}, res.Statuses(), res.String())
	assert.Len(t, app.Events(), 1)
}
