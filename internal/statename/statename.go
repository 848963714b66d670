// Package statename names the values of a small enumeration (the states
// of an inbox entry, of an expectation) from one table, so that String,
// Parse and their text forms agree. It imports nothing of payhook.
package statename

import "strconv"

// String returns names[v], or "State(v)" for a value the table does not
// name.
func String(names []string, v uint8) string {
	if int(v) < len(names) && names[v] != "" {
		return names[v]
	}
	return "State(" + strconv.Itoa(int(v)) + ")"
}

// Parse returns the value that names s, and whether there is one. The
// empty string names nothing.
func Parse(names []string, s string) (uint8, bool) {
	for v, name := range names {
		if name != "" && name == s {
			return uint8(v), true
		}
	}
	return 0, false
}
