package kazawallettest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
)

// TestConformance runs payhooktest's provider suite on Kazawallet, JSON and
// form-encoded, with credentials being rotated.
func TestConformance(t *testing.T) {
	for _, form := range []bool{false, true} {
		t.Run(map[bool]string{false: "JSON", true: "form"}[form], func(t *testing.T) {
			p, err := kazawallet.New("kw-key-1", "kw-secret-8c1f", kazawallet.WithSecrets(kazawallet.KeyPair{APIKey: "kw-key-2", APISecret: "kw-secret-2e7d"}))
			require.NoError(t, err)
			sender := kazawallettest.Sender{APIKey: "kw-key-1", APISecret: "kw-secret-8c1f", Form: form}
			rotated := kazawallettest.Sender{APIKey: "kw-key-2", APISecret: "kw-secret-2e7d", Form: form}
			noAmount := kwEvent
			noAmount.Amount = payhook.Amount{}
			payhooktest.RunProvider(t, payhooktest.ProviderCase[kazawallet.Event]{
				Provider: p,
				Genuine:  rotated.Request("/webhooks/kazawallet", kwEvent),
				Forged: []*http.Request{sender.Forged("/webhooks/kazawallet", kwEvent),
					kazawallettest.Sender{APIKey: "kw-key-1", APISecret: "kw-secret-2e7d", Form: form}.Request("/webhooks/kazawallet", kwEvent)},
				Malformed: []*http.Request{sender.Request("/webhooks/kazawallet", noAmount)},
				Secrets: []string{"kw-secret-8c1f", "kw-secret-2e7d", kazawallet.Sign("kw-key-1", "kw-secret-8c1f", "10.00", kwEvent.OrderID),
					kazawallet.Sign("kw-key-2", "kw-secret-2e7d", "10.00", kwEvent.OrderID)},
			})
		})
	}
}

// TestHandle: the genuine webhook reaches the application as sent.
func TestHandle(t *testing.T) {
	p, err := kazawallet.New("key", "secret")
	require.NoError(t, err)
	sender := kazawallettest.Sender{APIKey: "key", APISecret: "secret"}
	want := kwEvent
	want.SignedAmount = "10.00"
	var app payhooktest.Recorder[kazawallet.Event]
	res := deliver.Send(payhooktest.Handler(payhook.Handle(p, app.Handle)), sender.Request("/webhooks/kazawallet", kwEvent), sender.Policy())
	require.True(t, res.Acknowledged(), res.String())
	assert.Equal(t, []kazawallet.Event{want}, app.Events())
}

// TestConcurrentDuplicates: of five copies at once, one is processed; the
// others are answered 409 while it runs, or 200 once it is done.
func TestConcurrentDuplicates(t *testing.T) {
	p, err := kazawallet.New("key", "secret")
	require.NoError(t, err)
	sender := kazawallettest.Sender{APIKey: "key", APISecret: "secret"}
	var app payhooktest.Recorder[kazawallet.Event]
	results := payhooktest.DeliverN(payhooktest.Handler(payhook.Handle(p, app.Handle)), sender.Request("/", kwEvent), sender.Policy(), 5)
	counts := map[int]int{}
	for _, r := range results {
		require.Len(t, r.Attempts, 1, "Kazawallet sends once")
		counts[r.Last().Status]++
	}
	assert.Equal(t, 5, counts[200]+counts[409], "%v", counts)
	assert.Len(t, app.Events(), 1)
}

// TestClockMovesLeasesAndRetention expires a lease and the retention with
// the clock, without sleeping.
func TestClockMovesLeasesAndRetention(t *testing.T) {
	clock := &payhooktest.Clock{}
	p, err := kazawallet.New("key", "secret")
	require.NoError(t, err)
	sender := kazawallettest.Sender{APIKey: "key", APISecret: "secret"}
	var app payhooktest.Recorder[kazawallet.Event]
	release := app.Hold()
	rt := payhooktest.Handler(payhook.Handle(p, app.Handle, append(clock.Options(), payhook.WithLease(time.Minute), payhook.WithRetention(time.Hour))...))
	deliverOne := func() deliver.Result {
		return deliver.Send(rt, sender.Request("/", kwEvent), sender.Policy())
	}

	first := make(chan deliver.Result)
	go func() { first <- deliverOne() }()
	require.Eventually(t, func() bool { return app.Calls() == 1 }, 10*time.Second, time.Millisecond)
	res := deliverOne()
	assert.Equal(t, http.StatusConflict, res.Last().Status, "in flight")
	assert.Equal(t, "1", res.Last().RetryAfter)

	clock.Advance(time.Minute)
	release()
	res = deliverOne()
	assert.Equal(t, http.StatusOK, res.Last().Status, "the first delivery's lease has ended: the event is processed again")
	assert.Equal(t, "ok\n", res.Last().Body)
	assert.Equal(t, http.StatusOK, (<-first).Last().Status, "the first delivery's handler succeeded too")

	res = deliverOne()
	assert.Equal(t, "already processed\n", res.Last().Body)
	clock.Advance(time.Hour)
	res = deliverOne()
	assert.Equal(t, "ok\n", res.Last().Body, "past the retention the event is forgotten")
	assert.Len(t, app.Events(), 3)
}
