// Package expectsupport holds, for this repository's tests, what the
// durable expect.Store implementations (sqlitestore, pgstore, redisstore)
// check of their own beyond expecttest's contract: their options, and the
// times they keep. It never imports the root package: the caller passes
// the sentinel its constructors wrap.
package expectsupport

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/expect"
)

// Refusal is one call of a store's constructor that must be refused.
type Refusal struct {
	// New calls the constructor; it returns the store (a nil pointer when
	// refused) and the error.
	New func() (any, error)
	// Want is a part of the error's text: the option that refused.
	Want string
}

// Refuses checks that each case's constructor returns no store and an
// error wrapping sentinel (payhook.ErrConfig) that names what it refused.
func Refuses(t *testing.T, sentinel error, cases map[string]Refusal) {
	t.Helper()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			x, err := tc.New()
			assert.ErrorIs(t, err, sentinel)
			assert.ErrorContains(t, err, tc.Want)
			assert.Nil(t, x)
		})
	}
}

// Clock checks a store that open makes with now as its clock
// (WithExpectationsClock): CreatedAt comes from the clock when Add has
// none, and times come back as they went in, to the microsecond, in UTC,
// zero staying zero.
func Clock(t *testing.T, open func(now func() time.Time) expect.Store) {
	t.Helper()
	ctx := context.Background()
	created := time.Date(2031, 5, 6, 7, 8, 9, 123456000, time.UTC)
	store := open(func() time.Time { return created })
	deadline := time.Date(2031, 5, 7, 0, 0, 0, 999, time.FixedZone("x", 3600))
	require.NoError(t, store.Add(ctx, expect.Expectation{Provider: "kkiapay", ID: "tx_1", Amount: "100", Currency: "XOF", Deadline: deadline}))
	x, err := store.Get(ctx, expect.Key{Provider: "kkiapay", ID: "tx_1"})
	require.NoError(t, err)
	assert.Equal(t, created, x.CreatedAt, "from the store's clock")
	assert.Equal(t, deadline.Truncate(time.Microsecond).UTC(), x.Deadline)
	assert.True(t, x.NextPoll.IsZero(), "a zero NextPoll stays zero: %v", x.NextPoll)
	assert.True(t, x.SettledAt.IsZero())
}
