package optcheck

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

var errConfig = errors.New("payhook: invalid configuration")

func TestRefused(t *testing.T) {
	var r Refused
	assert.NoError(t, r.Err("x", errConfig), "nothing refused")

	d, n, p := time.Second, 3, new(int)
	Positive(&r, "WithTimeout", 2*time.Second, &d)
	Positive(&r, "WithN", 0, &n)
	Positive(&r, "WithTTL", -time.Minute, &d)
	NotNil(&r, "WithThing", nil, &p)
	assert.Equal(t, 2*time.Second, d, "a positive value is kept; a refused one is not")
	assert.Equal(t, 3, n)
	assert.NotNil(t, p)

	err := r.Err("x", errConfig)
	assert.ErrorIs(t, err, errConfig)
	assert.EqualError(t, err, "x: payhook: invalid configuration: WithN(0): not positive; WithTTL(-1m0s): not positive; WithThing(nil)")
	assert.EqualError(t, r.Err("", errConfig), "payhook: invalid configuration: WithN(0): not positive; WithTTL(-1m0s): not positive; WithThing(nil)")
}
