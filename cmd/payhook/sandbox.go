package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/payhook/payhook/cmd/payhook/internal/sandbox"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

const sandboxUsage = `usage: payhook sandbox [flags]

Plays Kazawallet, KKiaPay and KasperoPay on one local address: their APIs as
the providers answer them, checkout pages to pay a payment or make it fail,
and their webhooks, delivered to your app as each provider delivers them and
signed with the merchant's credentials from the environment (the same
variables as payhook serve). Open the address in a browser to start.

  Kazawallet  on with KAZAWALLET_API_KEY and KAZAWALLET_API_SECRET
  KKiaPay     on with KKIAPAY_WEBHOOK_SECRET; its status API takes
              KKIAPAY_PUBLIC_KEY, KKIAPAY_PRIVATE_KEY and KKIAPAY_SECRET_KEY
  KasperoPay  on with KASPEROPAY_ENABLED=1, or with KASPEROPAY_WEBHOOK_SECRET,
              which signs its webhooks

flags:
`

// sandboxFlags are the flags of payhook sandbox.
type sandboxFlags struct {
	addr                      string
	kazawallet, kkiapay, kasp string
}

// runSandbox is payhook sandbox. If ready is not nil, it receives the
// listening address once the sandbox accepts connections.
func runSandbox(ctx context.Context, args []string, cfg *config, stdout, stderr io.Writer, ready chan<- string) error {
	f := sandboxFlags{}
	fs := flag.NewFlagSet("payhook sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), sandboxUsage)
		fs.PrintDefaults()
	}
	serveRoute := func(name string) string { return defaultURL(cfg.addr, name) }
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8090", "listen address")
	fs.StringVar(&f.kazawallet, "kazawallet-webhook", serveRoute(kazawallet.Name), "where Kazawallet's webhooks go (default: payhook serve's route, at the port of $PAYHOOK_ADDR)")
	fs.StringVar(&f.kkiapay, "kkiapay-webhook", serveRoute(kkiapay.Name), "where KKiaPay's webhooks go")
	fs.StringVar(&f.kasp, "kasperopay-webhook", serveRoute(kasperopay.Name), "where KasperoPay's webhooks go")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("sandbox takes flags only (got %q)", fs.Args())
	}
	sbc := sandboxConfig(cfg, f)
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	sbc.Logger = logger
	sb, err := sandbox.New(sbc)
	if err != nil {
		return err
	}
	defer sb.Close()
	if !sb.On() {
		return errors.New("no provider configured: set KAZAWALLET_API_KEY and KAZAWALLET_API_SECRET, " +
			"KKIAPAY_WEBHOOK_SECRET, or KASPEROPAY_ENABLED=1, as for payhook serve (payhook sandbox -h)")
	}

	// Deliveries in flight stop, between two attempts, once the server is
	// down (the deferred Close).
	ep := endpoint{name: "payhook sandbox", addr: f.addr, addrFrom: "--addr", handler: localHosts("payhook sandbox", f.addr, "--addr", sb), listening: func(addr string) {
		base := "http://" + addr
		fmt.Fprintf(stdout, "payhook sandbox on %s\n", base)
		for _, line := range sb.Providers() {
			fmt.Fprintln(stdout, "  "+line)
		}
		fmt.Fprintf(stdout, "Open %s/ in a browser. For payhook serve: KKIAPAY_API_URL=%s KASPEROPAY_API_URL=%s\n", base, base, base)
		logger.Info("payhook sandbox: listening", "addr", addr)
	}}
	var readyAddrs func([]string)
	if ready != nil {
		readyAddrs = func(addrs []string) { ready <- addrs[0] }
	}
	return listenAndServe(ctx, logger, readyAddrs, ep)
}

// localHosts serves h only to requests whose Host is a loopback address,
// localhost, or the host of addr (--addr): a web page of another site
// whose name its owner pointed at 127.0.0.1 (DNS rebinding) sends its own
// name as the Host, and is refused 403 rather than served the sandbox's
// pages and APIs, which hold the merchant's credentials' effects (or the
// admin listener's, when it takes no token). name prefixes the answer
// ("payhook sandbox"), addrFrom names addr ("--addr").
func localHosts(name, addr, addrFrom string, h http.Handler) http.Handler {
	own, _, _ := net.SplitHostPort(addr)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !localHost(r.Host, own) {
			http.Error(w, name+": this Host is not served (only localhost, a loopback address or the host of "+addrFrom+"): "+
				"another site pointed at this machine cannot use it", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// localHost reports whether host (a Host header, with or without its
// port) names this machine: localhost, a loopback address, or own.
func localHost(host, own string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil && a.Unmap().IsLoopback() {
		return true
	}
	if a, err := netip.ParseAddr(own); err == nil && a.IsUnspecified() {
		own = "" // all interfaces: no name of its own
	}
	return host == "localhost" || (own != "" && host == strings.ToLower(own))
}

// sandboxConfig is the sandbox's configuration: the merchant's credentials
// as payhook serve reads them (the first of each list, the one a sender
// signs with), and the webhook URLs of the flags.
func sandboxConfig(cfg *config, f sandboxFlags) sandbox.Config {
	kk := cfg.kkiapay
	return sandbox.Config{
		Kazawallet: sandbox.KazawalletConfig{APIKey: cfg.kazawallet.keys.first(), APISecret: cfg.kazawallet.secrets.first(), Webhook: f.kazawallet},
		KKiaPay: sandbox.KKiaPayConfig{HashSecret: kk.secrets.first(), PublicKey: kk.publicKey.Reveal(),
			PrivateKey: kk.privateKey.Reveal(), SecretKey: kk.secretKey.Reveal(), Webhook: f.kkiapay},
		KasperoPay: sandbox.KasperoPayConfig{On: cfg.kasperopay.enabled, WebhookSecret: cfg.kasperopay.secrets.first(), Webhook: f.kasp},
	}
}
