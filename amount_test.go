package payhook_test

import (
	"encoding/json"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
)

func TestAmountJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: `"10.50"`, want: "10.50"},
		{in: `10.50`, want: "10.50"},
		{in: `1000`, want: "1000"},
		{in: `1e3`, want: "1e3"},
		{in: `"0.1"`, want: "0.1"},
		{in: `"\u0031\u0030"`, want: "10"},
		{in: `12345678901234567890.123456789`, want: "12345678901234567890.123456789"},
		{in: `null`, want: ""},
		{in: `"ten"`, wantErr: true},
		{in: `""`, wantErr: true},
		{in: `"1,5"`, wantErr: true},
		{in: `true`, wantErr: true},
		{in: `{}`, wantErr: true},
		{in: `"\x"`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var v struct{ A payhook.Amount }
			err := json.Unmarshal([]byte(`{"A":`+tt.in+`}`), &v)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, v.A.String())
			assert.Equal(t, tt.want == "", v.A.IsZero())
		})
	}
}

func TestAmountMalformedWrapsSentinel(t *testing.T) {
	var a payhook.Amount
	assert.ErrorIs(t, a.UnmarshalJSON([]byte(`"abc"`)), payhook.ErrMalformed)
	_, err := payhook.ParseAmount("12 USD")
	assert.ErrorIs(t, err, payhook.ErrMalformed)
	assert.Panics(t, func() { payhook.MustAmount("x") })
}

func TestAmountArithmetic(t *testing.T) {
	a := payhook.MustAmount("10.50")
	assert.Equal(t, "10.5", a.Canonical())
	assert.True(t, a.Equal(payhook.MustAmount("10.5")))
	assert.True(t, a.Equal(payhook.MustAmount("1.05e1")))
	assert.False(t, a.Equal(payhook.MustAmount("10.51")))
	assert.Equal(t, -1, a.Cmp(payhook.MustAmount("11")))
	assert.Equal(t, -1, payhook.MustAmount("5e0").Cmp(payhook.MustAmount("10")), "a zero exponent is still an exponent")
	assert.Equal(t, "5", payhook.MustAmount("5E+0").Canonical())
	assert.Equal(t, 1, a.Cmp(payhook.Amount{}))
	assert.Equal(t, -1, payhook.Amount{}.Cmp(a))
	assert.True(t, payhook.Amount{}.Equal(payhook.Amount{}))
	assert.Equal(t, 0, a.Rat().Cmp(big.NewRat(21, 2)))
	assert.Nil(t, payhook.Amount{}.Rat())
	// 0.1 + 0.2 is exactly 0.3 here.
	sum := new(big.Rat).Add(payhook.MustAmount("0.1").Rat(), payhook.MustAmount("0.2").Rat())
	assert.Equal(t, 0, sum.Cmp(payhook.MustAmount("0.3").Rat()))
}

func TestAmountRoundTrip(t *testing.T) {
	out, err := json.Marshal(struct {
		A payhook.Amount
		B payhook.Amount
	}{A: payhook.MustAmount("10.50")})
	require.NoError(t, err)
	assert.JSONEq(t, `{"A":"10.50","B":null}`, string(out))

	var back struct{ A, B payhook.Amount }
	require.NoError(t, json.Unmarshal(out, &back))
	assert.Equal(t, "10.50", back.A.String())
	assert.True(t, back.B.IsZero())

	text, err := payhook.MustAmount("7").MarshalText()
	require.NoError(t, err)
	var fromText payhook.Amount
	require.NoError(t, fromText.UnmarshalText(text))
	assert.Equal(t, "7", fromText.String())
	assert.Error(t, fromText.UnmarshalText([]byte("seven")))
}

func FuzzAmount(f *testing.F) {
	for _, s := range []string{`"10.50"`, `10`, `1e3`, `null`, `"\u0031"`, `-0.0`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var a payhook.Amount
		if a.UnmarshalJSON([]byte(in)) != nil || a.IsZero() {
			return
		}
		out, err := json.Marshal(a)
		require.NoError(t, err)
		var b payhook.Amount
		require.NoError(t, json.Unmarshal(out, &b))
		assert.Equal(t, a, b, "an amount survives a round trip exactly")
		assert.True(t, a.Equal(b))
	})
}
