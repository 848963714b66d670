package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

const sendUsage = `usage: payhook send [flags] <kazawallet|kkiapay|kasperopay>

Builds a webhook as the provider would send it, signed with the merchant's
secrets from the environment (the same variables as payhook serve), posts it,
and prints each answer. Exits 1 unless every delivery was answered 2xx.

  kazawallet  KAZAWALLET_API_KEY and KAZAWALLET_API_SECRET (required; the first of each comma list)
  kkiapay     KKIAPAY_WEBHOOK_SECRET (required; the first of a comma list)
  kasperopay  KASPEROPAY_WEBHOOK_SECRET (optional, the first of a comma list: unsigned without it, and
              serve then confirms the payment with the status API, which
              must know it)

flags:
`

// sendFlags are the flags of payhook send.
type sendFlags struct {
	url, amount, currency, status, event           string
	orderID, ref, transactionID, paymentID, method string
	amountUSD                                      string
	repeat, concurrency                            int
	forge, print, retry, form                      bool
	timeout                                        time.Duration
}

// flagProviders says which providers a flag applies to; flags not listed
// apply to all.
var flagProviders = map[string][]string{
	"currency":       {kazawallet.Name},
	"status":         {kazawallet.Name},
	"ref":            {kazawallet.Name},
	"form":           {kazawallet.Name},
	"event":          {kkiapay.Name, kasperopay.Name},
	"order-id":       {kazawallet.Name, kasperopay.Name},
	"transaction-id": {kkiapay.Name, kasperopay.Name},
	"method":         {kkiapay.Name},
	"payment-id":     {kasperopay.Name},
	"amount-usd":     {kasperopay.Name},
}

func newSendFlags(stderr io.Writer) (*flag.FlagSet, *sendFlags) {
	f := &sendFlags{}
	fs := flag.NewFlagSet("payhook send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), sendUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.url, "url", "", "where to post (default http://localhost:8080/webhooks/<provider>, the port from $PAYHOOK_ADDR)")
	fs.StringVar(&f.amount, "amount", "", "amount, sent as written (default 10.00 for kazawallet, 1000 for kkiapay, 150.5 KAS for kasperopay)")
	fs.StringVar(&f.currency, "currency", "USD", "currency code (kazawallet)")
	fs.StringVar(&f.status, "status", string(kazawallet.Fulfilled), "link status: fulfilled or timed_out (kazawallet)")
	fs.StringVar(&f.event, "event", "", "event: success or failed, or the full name (kkiapay, default transaction.success); payment.completed (kasperopay)")
	fs.StringVar(&f.orderID, "order-id", "", "order id: the payment link's id (kazawallet, default random), the merchant's order (kasperopay)")
	fs.StringVar(&f.ref, "ref", "", "the merchant's reference (kazawallet, default random)")
	fs.StringVar(&f.transactionID, "transaction-id", "", "transaction id (kkiapay's transactionId, kasperopay's transaction_id; default random)")
	fs.StringVar(&f.paymentID, "payment-id", "", "payment id (kasperopay, default random)")
	fs.StringVar(&f.amountUSD, "amount-usd", "", "USD value of the payment (kasperopay, default none)")
	fs.StringVar(&f.method, "method", string(kkiapay.MobileMoney), "payment method: MOBILE_MONEY, WALLET or CARD (kkiapay)")
	fs.BoolVar(&f.form, "form", false, "send the body form-encoded instead of JSON (kazawallet)")
	fs.IntVar(&f.repeat, "repeat", 1, "send the same webhook N times (duplicates)")
	fs.IntVar(&f.concurrency, "concurrency", 1, "with at most N copies in flight at once (N copies when --repeat is smaller)")
	fs.BoolVar(&f.forge, "forge", false, "sign with a wrong secret: the receiver must answer 401")
	fs.BoolVar(&f.print, "print", false, "print an equivalent curl command instead of sending; it reads credentials from $KKIAPAY_WEBHOOK_SECRET and $PAYHOOK_URL_PASSWORD")
	fs.BoolVar(&f.retry, "retry", false, "retry as the provider does, with real waits (kkiapay: up to 5 retries, 500 ms more each time; the others never retry)")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for each answer")
	return fs, f
}

// send is payhook send.
func send(ctx context.Context, args []string, cfg *config, stdout, stderr io.Writer) error {
	fs, f := newSendFlags(stderr)
	provider, err := parseSend(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := f.check(fs, provider); err != nil {
		return err
	}
	w, err := buildWebhook(provider, f, cfg)
	if err != nil {
		return err
	}
	target := f.url
	if target == "" {
		target = defaultURL(cfg.addr, provider)
	}
	r, err := w.request(target, f.forge)
	if err != nil {
		return err
	}
	if f.forge {
		w.credentials = nil // a forged request carries no credential of the merchant's
	}
	if f.print {
		body, _ := io.ReadAll(r.Body)
		cmd, vars := curlCommand(r, body, w.credentials)
		if len(vars) > 0 {
			fmt.Fprintf(stderr, "payhook send: the command reads %s from the environment\n", strings.Join(vars, " and "))
		}
		fmt.Fprintln(stdout, cmd)
		return nil
	}
	policy := deliver.Policy{}
	if f.retry {
		policy = w.policy
		policy.Sleep = deliver.Sleep
	}
	return deliverCopies(ctx, r, policy, f, stdout)
}

// parseSend parses flags before and after the provider's name, and returns
// the name.
func parseSend(fs *flag.FlagSet, args []string) (string, error) {
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return "", errors.New("send: which provider? kazawallet, kkiapay or kasperopay")
	}
	provider := rest[0]
	if err := fs.Parse(rest[1:]); err != nil {
		return "", err
	}
	if len(fs.Args()) > 0 {
		return "", fmt.Errorf("send: one provider at a time (got %q after %s)", fs.Args(), provider)
	}
	switch provider {
	case kazawallet.Name, kkiapay.Name, kasperopay.Name:
		return provider, nil
	}
	return "", fmt.Errorf("send: unknown provider %q: want kazawallet, kkiapay or kasperopay", provider)
}

// check refuses flags that do not apply to provider or to each other.
func (f *sendFlags) check(fs *flag.FlagSet, provider string) error {
	var errs []error
	fs.Visit(func(fl *flag.Flag) {
		if ps, ok := flagProviders[fl.Name]; ok && !slices.Contains(ps, provider) {
			errs = append(errs, fmt.Errorf("send: --%s does not apply to %s (only to %s)", fl.Name, provider, strings.Join(ps, ", ")))
		}
		if f.print && slices.Contains([]string{"repeat", "concurrency", "retry", "timeout"}, fl.Name) {
			errs = append(errs, fmt.Errorf("send: --%s does not apply with --print, which sends nothing", fl.Name))
		}
	})
	if f.repeat < 1 || f.concurrency < 1 {
		errs = append(errs, errors.New("send: --repeat and --concurrency must be at least 1"))
	}
	if f.timeout <= 0 {
		errs = append(errs, errors.New("send: --timeout must be positive"))
	}
	return errors.Join(errs...)
}

// webhook is a provider's webhook, ready to be posted.
type webhook struct {
	build  func(target string, forged bool) (*http.Request, error)
	policy deliver.Policy
	// credentials maps the headers that carry a credential to the shell
	// expression --print writes instead of the credential.
	credentials map[string]string
}

// sender is a provider package's Sender, for events of type E.
type sender[E any] interface {
	NewRequest(target string, e E) (*http.Request, error)
	Policy() deliver.Policy
}

// webhookOf is the webhook that s builds for e, or, forged, that forged
// (s with a wrong secret) builds.
func webhookOf[E any, S sender[E]](s, forged S, e E) webhook {
	return webhook{build: func(target string, forge bool) (*http.Request, error) {
		if forge {
			return forged.NewRequest(target, e)
		}
		return s.NewRequest(target, e)
	}, policy: s.Policy()}
}

// forgedKey is what --forge signs with: a key that is not secret, and
// holds nothing of the merchant's (KKiaPay's header is the key itself).
const forgedKey = "payhook-send-forged-key"

// forgedSecret is what --forge signs with instead of secret: forgedKey,
// unless that is the merchant's own.
func forgedSecret(secret string) string {
	if secret == forgedKey {
		return forgedKey + "-2"
	}
	return forgedKey
}

// request builds the webhook's request to target, checking target first.
// The error does not repeat target, which may hold a password.
func (w webhook) request(target string, forged bool) (*http.Request, error) {
	if _, err := http.NewRequest(http.MethodPost, target, nil); err != nil || !strings.Contains(target, "://") {
		return nil, errors.New("send: --url is not an http(s) URL such as http://localhost:8080/webhooks/kazawallet")
	}
	r, err := w.build(target, forged)
	if err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	return r, nil
}

// buildWebhook builds provider's webhook from the flags and the merchant's
// secrets in cfg (the first of each list), with the provider packages' Senders.
func buildWebhook(provider string, f *sendFlags, cfg *config) (webhook, error) {
	switch provider {
	case kazawallet.Name:
		key, secret := cfg.kazawallet.keys.first(), cfg.kazawallet.secrets.first()
		if strings.TrimSpace(key) == "" || strings.TrimSpace(secret) == "" {
			return webhook{}, errors.New("send: kazawallet needs the merchant's KAZAWALLET_API_KEY and KAZAWALLET_API_SECRET in the environment, as payhook serve does")
		}
		amount, err := parseAmount(f.amount, "10.00")
		if err != nil {
			return webhook{}, err
		}
		e := kazawallet.Event{OrderID: or(f.orderID, "ord_"+randomID(8)), Amount: amount, Ref: or(f.ref, "ref_"+randomID(8)),
			Type: kazawallet.EventType(f.status), Currency: f.currency}
		s := kazawallet.Sender{APIKey: key, APISecret: secret, Form: f.form}
		forged := s
		forged.APISecret = forgedSecret(secret)
		return webhookOf(s, forged, e), nil

	case kkiapay.Name:
		secret := cfg.kkiapay.secrets.first()
		if secret == "" {
			return webhook{}, errors.New("send: kkiapay needs the webhook's hash secret in KKIAPAY_WEBHOOK_SECRET, as payhook serve does")
		}
		amount, err := parseAmount(f.amount, "1000")
		if err != nil {
			return webhook{}, err
		}
		event := kkiapay.EventType(f.event)
		switch f.event {
		case "", "success":
			event = kkiapay.TransactionSuccess
		case "failed":
			event = kkiapay.TransactionFailed
		}
		e := kkiapay.Event{TransactionID: or(f.transactionID, randomID(5)), Type: event, Method: kkiapay.Method(f.method),
			Amount: amount, Fees: payhook.MustAmount("0"), Account: "22996000000", PerformedAt: time.Now().UTC()}
		if event == kkiapay.TransactionFailed {
			e.FailureCode, e.FailureMessage = "processing_error", "processing_error"
		}
		w := webhookOf(kkiapay.Sender{Secret: secret}, kkiapay.Sender{Secret: forgedSecret(secret)}, e)
		// The header is the hash secret itself: --print reads it from the
		// variable serve reads, the first of its comma list.
		w.credentials = map[string]string{kkiapay.SignatureHeader: "${KKIAPAY_WEBHOOK_SECRET%%,*}"}
		return w, nil

	default: // kasperopay
		secret := cfg.kasperopay.secrets.first()
		if f.forge && strings.TrimSpace(secret) == "" {
			return webhook{}, errors.New("send: --forge for kasperopay needs KASPEROPAY_WEBHOOK_SECRET: without a secret KasperoPay signs nothing, " +
				"so there is no signature to forge (send a --payment-id the status API does not know instead)")
		}
		amount, err := parseAmount(f.amount, "150.5")
		if err != nil {
			return webhook{}, err
		}
		var usd payhook.Amount
		if f.amountUSD != "" {
			if usd, err = parseAmount(f.amountUSD, ""); err != nil {
				return webhook{}, err
			}
		}
		e := kasperopay.Event{Type: kasperopay.EventType(or(f.event, string(kasperopay.PaymentCompleted))), PaymentID: or(f.paymentID, "pay_"+randomID(8)),
			OrderID: f.orderID, AmountKAS: amount, AmountUSD: usd, TransactionID: or(f.transactionID, randomID(32))}
		return webhookOf(kasperopay.Sender{Secret: secret}, kasperopay.Sender{Secret: forgedSecret(secret)}, e), nil
	}
}

func parseAmount(s, def string) (payhook.Amount, error) {
	a, err := payhook.ParseAmount(or(s, def))
	if err != nil {
		return payhook.Amount{}, fmt.Errorf("send: --amount: %w", err)
	}
	return a, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// randomID returns n random bytes in hex.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}

// defaultURL is serve's webhook URL for provider on this machine, at the
// port of addr (PAYHOOK_ADDR, ":8080" when empty).
func defaultURL(addr, provider string) string {
	host, port, err := net.SplitHostPort(or(addr, ":8080"))
	if err != nil {
		host, port = "", "8080"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/webhooks/" + provider
}

// deliverCopies posts f.repeat copies of r (at least f.concurrency), at
// most f.concurrency at once, each as policy says; prints every answer as
// it comes and a summary; and fails unless every copy was acknowledged.
func deliverCopies(ctx context.Context, r *http.Request, policy deliver.Policy, f *sendFlags, stdout io.Writer) error {
	body, _ := io.ReadAll(r.Body)
	fmt.Fprintf(stdout, "POST %s\n%s\n", r.URL.Redacted(), body)
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = f.timeout
	defer t.CloseIdleConnections()
	r = r.WithContext(ctx)

	n := max(f.repeat, f.concurrency)
	var mu sync.Mutex // orders the printed lines
	acked := 0
	sem := make(chan struct{}, f.concurrency)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			res := deliver.Send(t, r, policy)
			mu.Lock()
			defer mu.Unlock()
			for j, a := range res.Attempts {
				prefix := fmt.Sprintf("#%d", i+1)
				if j > 0 {
					prefix += fmt.Sprintf(" retry %d after %s", j, a.Wait)
				}
				fmt.Fprintf(stdout, "%s: %s\n", prefix, a)
			}
			if res.Acknowledged() {
				acked++
			}
		}()
	}
	wg.Wait()
	fmt.Fprintf(stdout, "%d sent: %d acknowledged (2xx), %d not\n", n, acked, n-acked)
	if acked < n {
		if n == 1 {
			return errors.New("send: the webhook was not acknowledged (2xx)")
		}
		return fmt.Errorf("send: %d of %d deliveries not acknowledged (2xx)", n-acked, n)
	}
	return nil
}

// urlPasswordVar is the variable that --print's command reads the
// password of --url from.
const urlPasswordVar = "PAYHOOK_URL_PASSWORD"

// curlCommand returns a curl command line, quoted for a POSIX shell, that
// sends r with body and prints the answer with its headers. No credential
// is written in it: the headers named in credentials are written as their
// shell expression, and the password of r's URL as $PAYHOOK_URL_PASSWORD.
// It returns the variables the command reads.
func curlCommand(r *http.Request, body []byte, credentials map[string]string) (string, []string) {
	var b strings.Builder
	var vars []string
	u := *r.URL
	userinfo := u.User
	u.User = nil
	b.WriteString("curl -sS -i -X POST " + shellQuote(u.String()))
	if userinfo != nil {
		if _, hasPassword := userinfo.Password(); hasPassword {
			b.WriteString(" -u " + shellQuote(userinfo.Username()) + `":$` + urlPasswordVar + `"`)
			vars = append(vars, urlPasswordVar+" (the password of --url)")
		} else {
			b.WriteString(" -u " + shellQuote(userinfo.Username()+":"))
		}
	}
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range r.Header[k] {
			if expr, ok := credentials[k]; ok {
				b.WriteString(` -H "` + k + `: ` + expr + `"`)
				vars = append(vars, strings.Trim(expr, "${}%,*"))
				continue
			}
			b.WriteString(" -H " + shellQuote(k+": "+v))
		}
	}
	b.WriteString(" --data-raw " + shellQuote(string(body)))
	return b.String(), vars
}

// shellQuote quotes s for a POSIX shell: in single quotes, each ' written
// as '\”.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
