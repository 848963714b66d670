// Package sentinel holds the sentinel errors of package payhook that the
// packages below it wrap, so that they need not import the root package:
// payhook re-exports each (payhook.ErrUnavailable is ErrUnavailable here),
// as io/fs re-exports the errors of internal/oserror. It imports only the
// standard library.
package sentinel

import "errors"

// ErrUnavailable is payhook.ErrUnavailable: something the delivery depends
// on could not be reached.
var ErrUnavailable = errors.New("payhook: unavailable")

// ErrConfig is payhook.ErrConfig: a constructor was given a configuration
// it cannot use. Packages inbox and idempotency, which the root imports,
// wrap it from here.
var ErrConfig = errors.New("payhook: invalid configuration")
