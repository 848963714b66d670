//go:build pprof

package main

// Built with -tags pprof (scripts/load does with PROFILE=1), payhook serves
// net/http/pprof on PAYHOOK_PPROF_ADDR, for profiling serve under load.
// Release builds have no such listener.

import (
	"log/slog"
	"net/http"
	_ "net/http/pprof"
)

func init() {
	startPprof = func(addr string, logger *slog.Logger) error {
		if addr != "" {
			go func() { logger.Warn("payhook: pprof", "error", http.ListenAndServe(addr, nil)) }()
		}
		return nil
	}
}
