//go:build pprof

package main

// Built with -tags pprof (scripts/load does with PROFILE=1), payhook serves
// net/http/pprof on PAYHOOK_PPROF_ADDR, for profiling serve under load.
// Release builds have no such listener.

import (
	"log"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if addr := os.Getenv("PAYHOOK_PPROF_ADDR"); addr != "" {
		go func() { log.Println(http.ListenAndServe(addr, nil)) }()
	}
}
