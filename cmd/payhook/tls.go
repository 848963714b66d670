package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certCheckEvery is how often serve looks whether its certificate's files
// changed (a renewal), to serve the new one without a restart.
const certCheckEvery = time.Minute

// certFiles is the certificate of PAYHOOK_TLS_CERT and PAYHOOK_TLS_KEY,
// read again when either file changes: a renewed certificate is served
// within certCheckEvery, with no restart. A renewal that cannot be read
// (the key and the certificate written one after the other) keeps the
// certificate served until both files agree, and logs why.
type certFiles struct {
	certFile, keyFile string
	logger            *slog.Logger
	now               func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time // the later of the two files' when read
	checked time.Time
}

// loadCert reads the certificate and its key, failing when they cannot be
// used, so that serve fails at start rather than at the first handshake.
func loadCert(certFile, keyFile string, logger *slog.Logger, now func() time.Time) (*certFiles, error) {
	c := &certFiles{certFile: certFile, keyFile: keyFile, logger: logger, now: now}
	mod, err := c.modified()
	if err == nil {
		err = c.read(mod)
	}
	if err != nil {
		return nil, fmt.Errorf("PAYHOOK_TLS_CERT and PAYHOOK_TLS_KEY: %w", err)
	}
	c.checked = now()
	return c, nil
}

// config is the TLS configuration that serves c's certificate.
func (c *certFiles) config() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.get}
}

func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); now.Sub(c.checked) >= certCheckEvery {
		c.checked = now
		if mod, err := c.modified(); err != nil {
			c.logger.Warn("payhook: the TLS certificate's files cannot be read; serving the one read before", "error", err)
		} else if mod.After(c.modTime) {
			if err := c.read(mod); err != nil {
				c.logger.Warn("payhook: the TLS certificate changed but cannot be loaded; serving the one read before", "error", err)
			} else {
				c.logger.Info("payhook: TLS certificate loaded again", "cert", c.certFile)
			}
		}
	}
	return c.cert, nil
}

// modified returns the later modification time of the two files.
func (c *certFiles) modified() (time.Time, error) {
	var latest time.Time
	for _, f := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return time.Time{}, err
		}
		if fi.ModTime().After(latest) {
			latest = fi.ModTime()
		}
	}
	return latest, nil
}

func (c *certFiles) read(mod time.Time) error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return err
	}
	c.cert, c.modTime = &cert, mod
	return nil
}

// checkTLS refuses one of PAYHOOK_TLS_CERT and PAYHOOK_TLS_KEY without the
// other.
func (c *config) checkTLS() error {
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return errors.New("PAYHOOK_TLS_CERT and PAYHOOK_TLS_KEY go together: set both, or neither to serve HTTP (behind a proxy that serves HTTPS)")
	}
	return nil
}
