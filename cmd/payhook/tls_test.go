package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeCert writes a self-signed certificate for 127.0.0.1, with serial,
// and its key, to certFile and keyFile, and returns it.
func writeCert(t *testing.T, certFile, keyFile string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "payhook test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return cert
}

// TestServeTLS (issue 17, §3): with PAYHOOK_TLS_CERT and PAYHOOK_TLS_KEY,
// serve speaks HTTPS itself, and serves a renewed certificate within a
// minute, without a restart.
func TestServeTLS(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC).UnixNano())
	clock = func() time.Time { return time.Unix(0, now.Load()) }
	t.Cleanup(func() { clock = time.Now })

	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := writeCert(t, certFile, keyFile, 1)
	vars := map[string]string{"PAYHOOK_TLS_CERT": certFile, "PAYHOOK_TLS_KEY": keyFile}
	for k, v := range kazawalletEnv {
		vars[k] = v
	}
	srv := startServeAll(t, vars)
	base := strings.Replace(srv.base, "http://", "https://", 1)
	roots := x509.NewCertPool()
	roots.AddCert(first)
	// served returns the serial of the certificate served, on a new
	// connection.
	served := func(roots *x509.CertPool) (int64, int) {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, DisableKeepAlives: true}}
		res, err := client.Post(base+"/webhooks/kazawallet", "application/json", strings.NewReader(kazawalletWebhook("ord_tls", "10.00")))
		require.NoError(t, err)
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.TLS.PeerCertificates[0].SerialNumber.Int64(), res.StatusCode
	}
	serial, code := served(roots)
	assert.Equal(t, int64(1), serial)
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, srv.stdout.String(), `"key":"ord_tls"`)
	res, err := http.Get(srv.base + "/healthz")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusBadRequest, res.StatusCode, "plain HTTP to an HTTPS port")

	second := writeCert(t, certFile, keyFile, 2)
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(certFile, later, later))
	require.NoError(t, os.Chtimes(keyFile, later, later))
	roots.AddCert(second)
	serial, _ = served(roots)
	assert.Equal(t, int64(1), serial, "files are looked at once a minute")
	now.Add(int64(certCheckEvery))
	serial, _ = served(roots)
	assert.Equal(t, int64(2), serial, "the renewed certificate")
	assert.Contains(t, srv.stderr.String(), "TLS certificate loaded again")

	require.NoError(t, os.WriteFile(keyFile, []byte("not a key"), 0o600))
	require.NoError(t, os.Chtimes(keyFile, later.Add(time.Hour), later.Add(time.Hour)))
	now.Add(int64(certCheckEvery))
	serial, _ = served(roots)
	assert.Equal(t, int64(2), serial, "a renewal half written keeps the certificate served")
	assert.Contains(t, srv.stderr.String(), "cannot be loaded; serving the one read before")
}

func TestServeTLSRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, 1)
	for _, tt := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"cert alone", map[string]string{"PAYHOOK_TLS_CERT": certFile}, "PAYHOOK_TLS_CERT and PAYHOOK_TLS_KEY go together"},
		{"key alone", map[string]string{"PAYHOOK_TLS_KEY": keyFile}, "PAYHOOK_TLS_CERT and PAYHOOK_TLS_KEY go together"},
		{"no such file", map[string]string{"PAYHOOK_TLS_CERT": certFile + ".missing", "PAYHOOK_TLS_KEY": keyFile}, "no such file"},
		{"the key of another", map[string]string{"PAYHOOK_TLS_CERT": keyFile, "PAYHOOK_TLS_KEY": certFile}, "PAYHOOK_TLS_CERT and PAYHOOK_TLS_KEY:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"PAYHOOK_ADDR": "127.0.0.1:0", "PAYHOOK_STORE": "memory"}
			for k, v := range kazawalletEnv {
				vars[k] = v
			}
			for k, v := range tt.vars {
				vars[k] = v
			}
			err := serveEnv(context.Background(), nil, env(vars), io.Discard, io.Discard, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
