// Package secret holds credentials (API keys, webhook secrets) so that no
// way of printing, logging or encoding a value that holds one shows it.
package secret

import (
	"fmt"
	"io"
	"log/slog"
)

// Redacted is what a Value prints, logs and encodes as.
const Redacted = "REDACTED"

// Value is a credential. Its String, GoString, Format (every verb),
// LogValue and MarshalJSON give Redacted, on value receivers, so that a
// Value prints redacted whether it is printed itself or by pointer. The
// credential sits behind a pointer, so that printing a struct that holds a
// Value in an unexported field (which fmt prints by reflection, without
// calling its methods) shows an address, never the credential.
//
// The zero Value holds "". Values are safe for concurrent use.
type Value struct{ p *string }

// New returns a Value holding s.
func New(s string) Value { return Value{p: &s} }

// Reveal returns the credential, for the code that uses it.
func (v Value) Reveal() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

// IsZero reports whether v holds "".
func (v Value) IsZero() bool { return v.Reveal() == "" }

// String returns Redacted.
func (Value) String() string { return Redacted }

// GoString returns Redacted, for %#v.
func (Value) GoString() string { return Redacted }

// Format writes Redacted whatever the verb, so that %x or %d do not encode
// the credential either.
func (Value) Format(f fmt.State, _ rune) { io.WriteString(f, Redacted) }

// LogValue implements slog.LogValuer.
func (Value) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON encodes Redacted as a JSON string.
func (Value) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText encodes Redacted, for encoders that use text (map keys, XML).
func (Value) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
