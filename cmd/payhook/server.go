package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// endpoint is one listener of a command: serve has the public one (the
// webhooks) and the admin one, the sandbox one.
type endpoint struct {
	name string // prefixes its log lines: "payhook", "payhook admin"
	// addr is the address to listen on, and addrFrom where it comes from
	// ("PAYHOOK_ADDR", "--addr"), for an error.
	addr, addrFrom string
	handler        http.Handler
	// server adjusts the server's timeouts and limits; nil keeps
	// newServer's.
	server func(*http.Server)
	// listener wraps the listener (the caps on connections); nil: none.
	listener func(net.Listener) net.Listener
	// tls serves HTTPS with this configuration; nil: HTTP.
	tls *tls.Config
	// listening is called with the address once every endpoint listens,
	// to say so.
	listening func(addr string)
}

// newServer is the server of an endpoint: bounded reads and writes, its
// errors logged at WARN.
func newServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// listenAndServe listens on every endpoint's address (failing if one
// cannot), calls each one's listening, then ready with their addresses in
// order when ready is not nil, and serves them until ctx is done or one
// fails. It then shuts them all down gracefully, letting requests in
// flight finish for up to 20 seconds.
func listenAndServe(ctx context.Context, logger *slog.Logger, ready func(addrs []string), eps ...endpoint) error {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close() // after Serve: already closed
		}
	}()
	for _, ep := range eps {
		ln, err := net.Listen("tcp", ep.addr)
		if err != nil {
			return fmt.Errorf("%s=%s: %w", ep.addrFrom, ep.addr, err)
		}
		lns = append(lns, ln)
	}
	addrs := make([]string, len(eps))
	for i, ep := range eps {
		addrs[i] = lns[i].Addr().String()
		if ep.listening != nil {
			ep.listening(addrs[i])
		}
	}
	if ready != nil {
		ready(addrs)
	}

	servers := make([]*http.Server, len(eps))
	errc := make(chan error, len(eps))
	for i, ep := range eps {
		srv := newServer(ep.handler, logger)
		if ep.server != nil {
			ep.server(srv)
		}
		ln := lns[i]
		if ep.listener != nil {
			ln = ep.listener(ln)
		}
		servers[i] = srv
		if ep.tls != nil {
			srv.TLSConfig = ep.tls // its certificate: ServeTLS reads no file
			go func() { errc <- srv.ServeTLS(ln, "", "") }()
			continue
		}
		go func() { errc <- srv.Serve(ln) }()
	}
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	for _, ep := range eps {
		logger.Info(ep.name + ": shutting down")
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	shutdownErrs := make([]error, len(servers))
	for i, srv := range servers {
		wg.Go(func() {
			if err := srv.Shutdown(shutdownCtx); err != nil {
				shutdownErrs[i] = fmt.Errorf("%s: shutdown: %w", eps[i].name, err)
			}
		})
	}
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return errors.Join(append([]error{err}, shutdownErrs...)...)
}
