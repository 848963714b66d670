// Command payhook is a webhook receiver for Kazawallet, KKiaPay and
// KasperoPay built on the payhook library: run it as it is, or read it as
// the reference integration.
//
//	payhook serve    receive webhooks; print each processed event as a JSON line
//	payhook send     post a signed test webhook, as a provider would (payhook send -h)
//	payhook inbox    list, replay and discard the events serve forwards (payhook inbox -h)
//	payhook sandbox  play the three providers locally: APIs, checkout pages, webhooks (payhook sandbox -h)
//
// serve is configured from the environment:
//
//	PAYHOOK_ADDR            listen address (default :8080)
//	PAYHOOK_STORE           idempotency store (a table is created at startup and cleaned hourly):
//	                          (unset)         SQLite: the file payhook.db in the working directory, durable
//	                          sqlite:PATH     SQLite: the file PATH
//	                          memory          this process's memory, forgotten on restart
//	                          redis://...     Redis (or rediss://), shared by replicas
//	                          postgres://...  PostgreSQL (or postgresql://), shared by replicas
//	PAYHOOK_METRICS         on (default): GET /metrics serves Prometheus metrics; off: no /metrics
//	PAYHOOK_FORWARD_URL     forward each processed event to the application at this http(s) URL,
//	                        through the inbox of PAYHOOK_STORE's backend (see below)
//	PAYHOOK_FORWARD_SECRET  the Standard Webhooks secret the forwards are signed with: whsec_ and the
//	                        base64 of at least 24 bytes; required with PAYHOOK_FORWARD_URL
//	PAYHOOK_FORWARD_TIMEOUT how long the application may take to answer one forward (default 30s)
//	PAYHOOK_INBOX_ATTEMPTS  forwards of one event before it is dead (default 25)
//	PAYHOOK_INBOX_BACKOFF   the wait before the first retry (default 1s), doubling with jitter, at most 1h
//	PAYHOOK_RATE_LIMIT      requests per client IP address (an IPv6 /64): N/s, N/m or N/h, N at once
//	                        at most; off for none (default 20/s). Over it: 429 with Retry-After
//	KAZAWALLET_API_KEY      with KAZAWALLET_API_SECRET, mounts POST /webhooks/kazawallet; while
//	KAZAWALLET_API_SECRET   rotating, comma-separated lists of as many keys as secrets, paired in order
//	KKIAPAY_WEBHOOK_SECRET  mounts POST /webhooks/kkiapay; the dashboard's hash secret, or several
//	                        separated by commas while rotating
//	KKIAPAY_PUBLIC_KEY      with KKIAPAY_PRIVATE_KEY and KKIAPAY_SECRET_KEY (all three or none),
//	KKIAPAY_PRIVATE_KEY     confirms every KKiaPay webhook with the status API before accepting it
//	KKIAPAY_SECRET_KEY
//	KKIAPAY_SANDBOX         1: confirm with the sandbox API (default 0: the live API)
//	KKIAPAY_API_URL         the API's base URL instead (tests, proxies)
//	KASPEROPAY_ENABLED      1: mounts POST /webhooks/kasperopay, confirming every webhook with
//	                        KasperoPay's status API (its payload is unsigned)
//	KASPEROPAY_WEBHOOK_SECRET  also mounts it, and requires X-KasperoPay-Signature (HMAC-SHA256 of the body);
//	                        several separated by commas while rotating
//	KASPEROPAY_API_URL      the status API's base URL (default https://kaspa-store.com)
//	KASPEROPAY_STATUS_PATH  the status API's path (default /pay/status/)
//
// A secret holding a comma cannot be given in a list; an empty value in one
// ("a,,b") is refused. payhook send signs with the first of each list.
//
// Each event processed is written to stdout as one JSON line holding the
// provider's name, the idempotency key and the decoded event; a duplicate
// delivery prints nothing there, even after a restart or a crash with the
// default SQLite store, whose file the start-up log line names (WAL with
// synchronous=FULL: see go doc github.com/payhook/payhook/idempotency/sqlitestore). Rejections and duplicates are logged with
// their reason on stderr. GET /healthz answers 200. SIGINT or SIGTERM shuts
// the server down gracefully (and the inbox: running forwards may finish
// within 20 s; the others run at the next start).
//
// With PAYHOOK_FORWARD_URL, serve is a gateway: each verified, new
// delivery is written to the inbox of the store's backend (memory:
// in-process; SQLite: the same file; PostgreSQL: River, in the same
// database; Redis: asynq, on the same server) and acknowledged once it is
// committed. Each event is then posted to the application: a POST of the
// JSON line above, signed with the Standard Webhooks scheme (webhook-id
// provider:key, the same for every retry; webhook-timestamp;
// webhook-signature, HMAC-SHA256 with PAYHOOK_FORWARD_SECRET; see go doc
// github.com/payhook/payhook/forward). A 2xx answer completes the event,
// and serve prints its line; any other answer, a timeout or a refused
// connection is retried, after PAYHOOK_INBOX_BACKOFF and twice that each
// time, until PAYHOOK_INBOX_ATTEMPTS, and the event is then dead until
// replayed. A forward whose serve was killed is retried after twice
// PAYHOOK_FORWARD_TIMEOUT and 2 s (River and asynq add up to a minute or
// two of their own). The application deduplicates on webhook-id. Without
// PAYHOOK_FORWARD_URL, serve prints each event synchronously and keeps no
// inbox.
//
// payhook inbox operates that inbox, reading the same PAYHOOK_STORE (not
// the memory one, which lives in the serve process):
//
//	payhook inbox list [--dead] [--limit N]   one JSON line per entry: id, provider, key, state,
//	                                          attempts, max_attempts, last_error, received_at, ...
//	payhook inbox replay ID...                dead (or done) entries pending again, with their attempts again
//	payhook inbox replay --dead               every dead entry
//	payhook inbox discard ID...               delete entries that are not running
//
// sandbox plays the three providers on one local address, for trying an
// integration without them (docs/sandbox.md): their APIs as they answer
// (Kazawallet's createPaymentLink, KKiaPay's transaction status and revert,
// KasperoPay's GET /pay/status/{id}), checkout pages where a person pays a
// payment or makes it fail, and the webhooks that follow, delivered as each
// provider delivers them (Kazawallet and KasperoPay once, KKiaPay again
// after any answer that is not 2xx, up to 5 times, 500 ms more each time).
// GET /payments lists every payment and every delivery attempt with the
// app's answer, with a Resend button per delivery. Everything is kept in
// memory. Its flags:
//
//	--addr ADDR                listen address (default 127.0.0.1:8090)
//	--kazawallet-webhook URL   where Kazawallet's webhooks go (default: serve's route,
//	                           http://localhost:8080/webhooks/kazawallet, at the port of $PAYHOOK_ADDR)
//	--kkiapay-webhook URL      where KKiaPay's go (default .../webhooks/kkiapay)
//	--kasperopay-webhook URL   where KasperoPay's go (default .../webhooks/kasperopay)
//
// It reads the merchant's credentials from serve's variables, so that the
// two agree when run with the same environment:
//
//	KAZAWALLET_API_KEY      with KAZAWALLET_API_SECRET, plays Kazawallet: createPaymentLink
//	KAZAWALLET_API_SECRET   requires the key in x-api-key; webhooks are signed with both
//	KKIAPAY_WEBHOOK_SECRET  plays KKiaPay; sent in x-kkiapay-secret (the first of a comma list)
//	KKIAPAY_PUBLIC_KEY      with KKIAPAY_PRIVATE_KEY and KKIAPAY_SECRET_KEY (all three or none),
//	KKIAPAY_PRIVATE_KEY     the keys the status API requires; without them it refuses every call
//	KKIAPAY_SECRET_KEY
//	KASPEROPAY_ENABLED      1: plays KasperoPay (it needs no credentials)
//	KASPEROPAY_WEBHOOK_SECRET  also plays it, and signs its webhooks in X-KasperoPay-Signature
//	PAYHOOK_ADDR            serve's address: the port of the default webhook URLs
//
// Point serve at it with KKIAPAY_API_URL=http://127.0.0.1:8090 and
// KASPEROPAY_API_URL=http://127.0.0.1:8090, and the API clients with their
// base URL: http://127.0.0.1:8090/wallet for kazawallet.Client,
// http://127.0.0.1:8090 for the KKiaPay and KasperoPay clients.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

const usage = `usage: payhook <command>

commands:
  serve    receive webhooks on $PAYHOOK_ADDR (default :8080)
  send     post a signed test webhook to serve, as the provider would ("payhook send -h")
  inbox    list, replay and discard the entries serve forwards through ("payhook inbox -h")
  sandbox  play the providers on 127.0.0.1:8090: APIs, checkout pages, webhooks ("payhook sandbox -h")

Run "go doc github.com/payhook/payhook/cmd/payhook" for the environment it reads.
`

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], getenv, stdout, stderr, nil)
	case "send":
		err = send(ctx, args[1:], getenv, stdout, stderr)
	case "inbox":
		err = inboxCmd(ctx, args[1:], getenv, stdout, stderr)
	case "sandbox":
		err = runSandbox(ctx, args[1:], getenv, stdout, stderr, nil)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "payhook: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "payhook:", err)
		return 1
	}
	return 0
}
