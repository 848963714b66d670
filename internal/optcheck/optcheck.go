// Package optcheck collects the values that functional options are given
// and cannot use, so that their constructor refuses them, with an error
// wrapping payhook.ErrConfig, rather than ignoring them. It imports only
// the standard library.
package optcheck

import (
	"fmt"
	"strings"
)

// Refused lists the values that options refused. Its zero value is empty.
// It is not safe for concurrent use: options run one after the other.
type Refused struct{ why []string }

// Add records a refusal: format and args say which option refused which
// value and why, as in "WithTimeout(0s): not positive".
func (r *Refused) Add(format string, args ...any) {
	r.why = append(r.why, fmt.Sprintf(format, args...))
}

// Positive stores v in *dst when v is above zero, and records option's
// refusal of v otherwise.
func Positive[T ~int | ~int64](r *Refused, option string, v T, dst *T) {
	if v <= 0 {
		r.Add("%s(%v): not positive", option, v)
		return
	}
	*dst = v
}

// NotNil stores v in *dst unless v is nil, and records option's refusal
// of nil otherwise.
func NotNil[T any](r *Refused, option string, v *T, dst **T) {
	if v == nil {
		r.Add("%s(nil)", option)
		return
	}
	*dst = v
}

// Err returns nil when nothing was refused, and otherwise an error
// wrapping sentinel that names every refusal, after prefix and ": " when
// prefix is not empty.
func (r *Refused) Err(prefix string, sentinel error) error {
	if len(r.why) == 0 {
		return nil
	}
	if prefix != "" {
		prefix += ": "
	}
	return fmt.Errorf("%s%w: %s", prefix, sentinel, strings.Join(r.why, "; "))
}
