package main

import (
	"errors"
	"log/slog"
)

// startPprof serves net/http/pprof on addr (PAYHOOK_PPROF_ADDR) when it is
// not empty. Only a binary built with -tags pprof has it (pprof.go); the
// others refuse an address rather than ignore it.
var startPprof = func(addr string, _ *slog.Logger) error {
	if addr != "" {
		return errors.New("PAYHOOK_PPROF_ADDR is set, but this payhook was built without -tags pprof")
	}
	return nil
}
