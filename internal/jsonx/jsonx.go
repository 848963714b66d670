// Package jsonx holds JSON helpers shared by the providers' decoders.
package jsonx

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// String decodes a JSON string, or the text of a JSON number, for fields
// that a provider may send either way (ids). null leaves it unchanged.
type String string

// UnmarshalJSON implements json.Unmarshaler.
func (s *String) UnmarshalJSON(data []byte) error {
	switch {
	case len(data) == 0:
		return fmt.Errorf("jsonx: empty value")
	case data[0] == '"':
		if len(data) >= 2 && data[len(data)-1] == '"' && bytes.IndexByte(data, '\\') < 0 {
			*s = String(data[1 : len(data)-1])
			return nil
		}
		var v string
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		*s = String(v)
		return nil
	case data[0] == '-' || ('0' <= data[0] && data[0] <= '9'):
		*s = String(data) // encoding/json has validated the number
		return nil
	case string(data) == "null":
		return nil
	}
	return fmt.Errorf("jsonx: want a string or a number, got %.10s", data)
}

// IsJSON reports whether body looks like a JSON object rather than a form:
// its first non-space byte is '{'.
func IsJSON(body []byte) bool {
	for _, c := range body {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c == '{'
	}
	return false
}
