package jsonx

import "testing"

func TestNumber(t *testing.T) {
	for in, want := range map[string]string{"": "", "10.00": "10.00", "1e3": "1e3", "007": "7", "00.50": "0.5", "x": "x"} {
		if got := Number(in); string(got) != want {
			t.Errorf("Number(%q) = %q, want %q", in, got, want)
		}
	}
}
