package statename

import "testing"

func TestNames(t *testing.T) {
	names := []string{1: "pending", 2: "done"}
	for v, want := range map[uint8]string{1: "pending", 2: "done", 0: "State(0)", 3: "State(3)", 255: "State(255)"} {
		if got := String(names, v); got != want {
			t.Errorf("String(%d) = %q, want %q", v, got, want)
		}
	}
	for s, want := range map[string]uint8{"pending": 1, "done": 2} {
		if got, ok := Parse(names, s); !ok || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d, true", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "Pending", "State(1)", "dead"} {
		if _, ok := Parse(names, s); ok {
			t.Errorf("Parse(%q) found a value", s)
		}
	}
}
