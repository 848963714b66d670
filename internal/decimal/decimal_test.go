package decimal

import (
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCanonical(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"10", "10"},
		{"10.00", "10"},
		{"10.50", "10.5"},
		{"010.5", "10.5"},
		{"0.5", "0.5"},
		{"0", "0"},
		{"-0", "0"},
		{"-0.00", "0"},
		{"-1.50", "-1.5"},
		{"1e3", "1000"},
		{"1.5E+2", "150"},
		{"15e-1", "1.5"},
		{"5e-3", "0.005"},
		{"1e0", "1"},
		{"25E+0", "25"},
		{"-7.5e-0", "-7.5"},
		{"0.000", "0"},
		{"123456789012345678901234567890.000000001", "123456789012345678901234567890.000000001"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Canonical(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestInvalid(t *testing.T) {
	for _, in := range []string{"", "-", "+1", "1.", ".5", "1e", "1e+", "abc", "1,5", " 1", "1 ", "0x10", "1e65", "1e999999999", "NaN", "Infinity", "1.2.3"} {
		t.Run(in, func(t *testing.T) {
			assert.False(t, Valid(in))
			_, err := Canonical(in)
			assert.ErrorIs(t, err, ErrSyntax)
			_, ok := Fixed(in, 2)
			assert.False(t, ok)
			_, err = Cmp(in, "1")
			assert.ErrorIs(t, err, ErrSyntax)
			_, err = Cmp("1", in)
			assert.ErrorIs(t, err, ErrSyntax)
		})
	}
}

func TestFixed(t *testing.T) {
	for _, tt := range []struct {
		in     string
		places int
		want   string
		ok     bool
	}{
		{"10", 2, "10.00", true},
		{"10.5", 2, "10.50", true},
		{"10.50", 2, "10.50", true},
		{"10.567", 2, "", false},
		{"1e1", 2, "10.00", true},
		{"1e0", 2, "1.00", true},
		{"7", 0, "7", true},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := Fixed(tt.in, tt.places)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCmp(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"10", "10.00", 0},
		{"25.5", "25.50", 0},
		{"1e2", "100", 0},
		{"9", "10", -1},
		{"10", "9.99", 1},
		{"0.1", "0.09", 1},
		{"-1", "1", -1},
		{"1", "-1", 1},
		{"-2", "-1", -1},
		{"-0", "0", 0},
		{"100.001", "100.0001", 1},
		{"5e0", "10", -1},
		{"1e0", "1", 0},
	} {
		t.Run(tt.a+" vs "+tt.b, func(t *testing.T) {
			got, err := Cmp(tt.a, tt.b)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCanonicalDoesNotAllocateWhenAlreadyCanonical(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() { _, _ = Canonical("10.5") })
	assert.Zero(t, allocs)
}

func FuzzCanonical(f *testing.F) {
	for _, s := range []string{"10", "10.00", "-0.5e2", "1e64", "007"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Canonical(s)
		if err != nil {
			return
		}
		// Canonical is idempotent and numerically equal to its input.
		c2, err := Canonical(c)
		require.NoError(t, err)
		assert.Equal(t, c, c2)
		cmp, err := Cmp(s, c)
		require.NoError(t, err)
		assert.Zero(t, cmp)
		// It is plain: no exponent, which is what Fixed and Cmp rely on.
		assert.NotContains(t, c, "e")
		assert.NotContains(t, c, "E")
		want, ok := new(big.Rat).SetString(s)
		require.True(t, ok, "big.Rat reads every valid decimal")
		got, ok := new(big.Rat).SetString(c)
		require.True(t, ok)
		assert.Zero(t, want.Cmp(got), "canonical form of %q is %q", s, c)
	})
}

// FuzzCmp checks Cmp against math/big.
func FuzzCmp(f *testing.F) {
	for _, s := range [][2]string{{"10", "9.99"}, {"5e0", "10"}, {"-0", "0"}, {"1e-3", "0.001"}, {"-1.5e1", "-15"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		c, err := Cmp(a, b)
		if !Valid(a) || !Valid(b) {
			assert.ErrorIs(t, err, ErrSyntax)
			return
		}
		require.NoError(t, err)
		ra, _ := new(big.Rat).SetString(a)
		rb, _ := new(big.Rat).SetString(b)
		assert.Equal(t, ra.Cmp(rb), c, "Cmp(%q, %q)", a, b)
	})
}
