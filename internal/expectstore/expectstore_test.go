package expectstore

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/payhook/payhook/expect"
)

func TestSettle(t *testing.T) {
	s := expect.Settlement{PaymentID: "pay_1", Outcome: expect.OutcomePaid, At: time.Now()}
	pending := expect.Expectation{Provider: "p", Ref: "r", State: expect.Pending}
	noRow := func() (expect.Expectation, bool, error) { return expect.Expectation{}, false, nil }
	t.Run("refused: why answers", func(t *testing.T) {
		settled := expect.Expectation{Provider: "p", Ref: "r", State: expect.Settled, PaymentID: "pay_2"}
		_, err := Settle("x", 3, s, noRow, func() (expect.Expectation, bool, bool, error) { return settled, false, true, nil })
		assert.ErrorIs(t, err, expect.ErrSettled)
		_, err = Settle("x", 3, s, noRow, func() (expect.Expectation, bool, bool, error) { return pending, true, true, nil })
		assert.ErrorIs(t, err, expect.ErrConflict)
		_, err = Settle("x", 3, s, noRow, func() (expect.Expectation, bool, bool, error) { return expect.Expectation{}, false, false, nil })
		assert.ErrorIs(t, err, expect.ErrNotFound)
	})
	t.Run("a retry of its own payment", func(t *testing.T) {
		mine := expect.Expectation{Provider: "p", Ref: "r", State: expect.Settled, PaymentID: "pay_1"}
		x, err := Settle("x", 3, s, noRow, func() (expect.Expectation, bool, bool, error) { return mine, false, true, nil })
		assert.NoError(t, err)
		assert.Equal(t, mine, x)
	})
	t.Run("changing every time: bounded", func(t *testing.T) {
		tries := 0
		try := func() (expect.Expectation, bool, error) { tries++; return expect.Expectation{}, false, nil }
		_, err := Settle("x", 3, s, try, func() (expect.Expectation, bool, bool, error) { return pending, false, true, nil })
		assert.ErrorContains(t, err, "x: settle expectation: the expectation kept changing")
		assert.Equal(t, 3, tries)
	})
	t.Run("errors as they are", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := Settle("x", 3, s, func() (expect.Expectation, bool, error) { return expect.Expectation{}, false, boom }, nil)
		assert.Same(t, boom, err)
	})
}

func TestChanged(t *testing.T) {
	assert.NoError(t, Changed(1, nil))
	assert.ErrorIs(t, Changed(0, func() (bool, error) { return true, nil }), expect.ErrState)
	assert.ErrorIs(t, Changed(0, func() (bool, error) { return false, nil }), expect.ErrNotFound)
	boom := errors.New("boom")
	assert.Same(t, boom, Changed(0, func() (bool, error) { return false, boom }))
}

func TestConfig(t *testing.T) {
	var c Config
	c.SetTimeout(0)
	c.SetClock(nil)
	assert.ErrorContains(t, c.Refused.Err("x", errors.New("config")), "WithExpectationsTimeout(0s): want a positive duration; WithExpectationsClock(nil)")
	c = Config{}
	c.SetTimeout(time.Second)
	c.SetClock(time.Now)
	assert.NoError(t, c.Refused.Err("x", errors.New("config")))
	assert.Equal(t, time.Second, c.Timeout)
	assert.NotNil(t, c.Now)
}
