package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"strings"

	"github.com/payhook/payhook/internal/secret"
)

// The admin listener (PAYHOOK_ADMIN_ADDR) serves what is for the operator,
// never for the providers: /metrics, pprof when PAYHOOK_PPROF=on, and every
// operator endpoint. The public listener (PAYHOOK_ADDR) serves the webhooks
// and /healthz only, so that nothing an operator reads can be hammered by
// whoever finds the webhook URL.
//
// To add an operator endpoint, mount it on serve's admin mux (serve.go:
// admin.Handle("GET /expectations", h)); it is then behind the token when
// the listener is not on loopback, with no more code.

// minAdminToken is the shortest PAYHOOK_ADMIN_TOKEN taken: 16 characters
// (openssl rand -hex 16 writes 32).
const minAdminToken = 16

// parseAdminAddr reads PAYHOOK_ADMIN_ADDR: host:port, or off.
func parseAdminAddr(c *config, v string) error {
	if v == "off" {
		c.adminAddr = ""
		return nil
	}
	if _, _, err := net.SplitHostPort(v); err != nil {
		return errors.New("want host:port, such as 127.0.0.1:9090, or off")
	}
	c.adminAddr = v
	return nil
}

func parseAdminToken(c *config, v string) error {
	if len(v) < minAdminToken {
		return fmt.Errorf("want at least %d characters, such as the output of openssl rand -hex 16", minAdminToken)
	}
	c.adminToken = secret.New(v)
	return nil
}

// loopback reports whether addr (host:port) listens on loopback only: a
// loopback address or localhost. An empty host is every interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// checkAdmin refuses an admin listener bound beyond loopback without a
// token: its metrics and operator endpoints would be open to the network.
func (c *config) checkAdmin() error {
	if c.adminAddr != "" && !loopback(c.adminAddr) && c.adminToken.IsZero() {
		return fmt.Errorf("PAYHOOK_ADMIN_ADDR=%s is not a loopback address: set PAYHOOK_ADMIN_TOKEN (openssl rand -hex 16), "+
			"which every request to it must then carry (Authorization: Bearer TOKEN), or bind it to 127.0.0.1", c.adminAddr)
	}
	return nil
}

// requireToken serves h only to requests carrying token, as
// "Authorization: Bearer TOKEN" compared in constant time, or as the
// cookie of a login with it (adminlogin.go: /login, /logout, for a
// browser); the others are answered 401, a browser's with a link to
// /login. A zero token requires nothing (loopback only: checkAdmin).
func requireToken(token secret.Value, h http.Handler) http.Handler {
	if token.IsZero() {
		return h
	}
	a := newAdminAuth(token, clock)
	login := a.loginMux()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" || r.URL.Path == "/logout" {
			login.ServeHTTP(w, r)
			return
		}
		if !a.allowed(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="payhook admin"`)
			if strings.Contains(r.Header.Get("Accept"), "text/html") {
				renderLogin(w, http.StatusUnauthorized, "Sign in", "This listener wants the admin token.", false)
				return
			}
			http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// mountPprof serves net/http/pprof under /debug/pprof/ on mux.
func mountPprof(mux *http.ServeMux) {
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}
