// Command payhook is a webhook receiver for Kazawallet, KKiaPay and
// KasperoPay built on the payhook library: run it as it is, or read it as
// the reference integration.
//
//	payhook serve    receive webhooks; print each processed event as a JSON line
//	payhook send     post a signed test webhook, as a provider would (payhook send -h)
//	payhook inbox    list, replay and discard the events serve forwards (payhook inbox -h)
//	payhook expect   add, list and cancel the payments serve expects (payhook expect -h)
//	payhook sandbox  play the three providers locally: APIs, checkout pages, webhooks (payhook sandbox -h)
//
// serve is configured from the environment, as the table of config.go
// says (docs/serve.md shows the same table, with links):
//
//	PAYHOOK_ADDR               the listen address of the webhooks, host:port or :port (default: :8080)
//	PAYHOOK_STORE              the idempotency store (and the inbox's backend): sqlite:PATH, memory,
//	                           redis://... or postgres://... (default: the SQLite file payhook.db in
//	                           the working directory)
//	PAYHOOK_RATE_LIMIT         requests per client (an IP address; an IPv6 address by its /64; behind
//	                           a proxy, see PAYHOOK_TRUSTED_PROXIES): N/s, N/m (or N/min) or N/h, with
//	                           up to N at once; off for none. Over it: 429 with Retry-After, before
//	                           the body is read (default: 20/s)
//	PAYHOOK_TRUSTED_PROXIES    the reverse proxies in front of serve, comma-separated addresses or
//	                           CIDRs (127.0.0.1,10.0.0.0/8): for a request from one of them, the
//	                           client (of the rate limit and of the caps on requests in flight) is the
//	                           right-most X-Forwarded-For address that is not one of them (default:
//	                           none: the client is the connection's peer)
//	PAYHOOK_TLS_CERT           with PAYHOOK_TLS_KEY: serve HTTPS on PAYHOOK_ADDR with this PEM
//	                           certificate (chain) file; a renewed file is served within a minute,
//	                           without a restart (default: HTTP)
//	PAYHOOK_TLS_KEY            the PEM private key file of PAYHOOK_TLS_CERT
//	PAYHOOK_ADMIN_ADDR         the admin listener: GET /metrics, pprof with PAYHOOK_PPROF, and the
//	                           operator's endpoints, never on PAYHOOK_ADDR; off for none. Beyond
//	                           loopback it needs PAYHOOK_ADMIN_TOKEN (default: 127.0.0.1:9090)
//	PAYHOOK_ADMIN_TOKEN        the token every request to the admin listener must carry, as
//	                           Authorization: Bearer TOKEN: at least 16 characters (openssl rand -hex
//	                           16). Required when PAYHOOK_ADMIN_ADDR is not a loopback address
//	                           (default: no token: loopback only)
//	KAZAWALLET_API_KEY         with KAZAWALLET_API_SECRET, mounts POST /webhooks/kazawallet; one
//	                           without the other is refused. While rotating, a comma-separated list of
//	                           as many keys as secrets, paired in order (default: Kazawallet not
//	                           mounted)
//	KAZAWALLET_API_SECRET      the API secret that signs Kazawallet's webhooks, paired with
//	                           KAZAWALLET_API_KEY; a comma-separated list while rotating
//	KKIAPAY_WEBHOOK_SECRET     mounts POST /webhooks/kkiapay: the dashboard's hash secret, or several
//	                           separated by commas while rotating (default: KKiaPay not mounted)
//	KKIAPAY_PUBLIC_KEY         with KKIAPAY_PRIVATE_KEY and KKIAPAY_SECRET_KEY (all three or none, and
//	                           only with KKIAPAY_WEBHOOK_SECRET): confirm every KKiaPay webhook with
//	                           the status API before accepting it (default: no confirmation: the
//	                           header alone)
//	KKIAPAY_PRIVATE_KEY        the status API's private key, with KKIAPAY_PUBLIC_KEY
//	KKIAPAY_SECRET_KEY         the status API's secret key, with KKIAPAY_PUBLIC_KEY
//	KKIAPAY_SANDBOX            1: confirm with KKiaPay's sandbox API; 0: the live API (default: 0)
//	KKIAPAY_API_URL            the KKiaPay API's base URL instead (tests, proxies, payhook sandbox);
//	                           wins over KKIAPAY_SANDBOX (default: https://api.kkiapay.me)
//	KASPEROPAY_ENABLED         1: mounts POST /webhooks/kasperopay, confirming every webhook with
//	                           KasperoPay's status API (its payload is unsigned) (default: 0)
//	KASPEROPAY_WEBHOOK_SECRET  mounts it too, and requires X-KasperoPay-Signature (HMAC-SHA256 of the
//	                           body); several separated by commas while rotating (default: unsigned
//	                           webhooks)
//	KASPEROPAY_API_URL         the status API's base URL (default: https://kaspa-store.com)
//	KASPEROPAY_STATUS_PATH     the status API's path, to which the payment id is appended (default:
//	                           /pay/status/)
//	PAYHOOK_METRICS            on: the admin listener's GET /metrics serves Prometheus metrics; off:
//	                           no /metrics (default: on)
//	PAYHOOK_PPROF              on: the admin listener serves net/http/pprof under /debug/pprof/, for
//	                           profiling (scripts/load turns it on with PROFILE=1) (default: off)
//	PAYHOOK_FORWARD_URL        forward each processed event to the application at this http(s) URL,
//	                           through the inbox of PAYHOOK_STORE's backend (default: print only, no
//	                           inbox)
//	PAYHOOK_FORWARD_SECRET     the Standard Webhooks secret the forwards are signed with: whsec_ and
//	                           the base64 of at least 24 random bytes. Required with
//	                           PAYHOOK_FORWARD_URL; an invalid one is refused at start; never printed
//	PAYHOOK_FORWARD_TIMEOUT    how long the application may take to answer one forward, a Go duration;
//	                           slower is a failure, retried (default: 30s)
//	PAYHOOK_INBOX_ATTEMPTS     forwards of one event before its entry is dead (until replayed)
//	                           (default: 25)
//	PAYHOOK_INBOX_BACKOFF      the wait before the first retry, a Go duration; each retry waits about
//	                           twice as long as the one before (between half and all of it, at
//	                           random), at most 1h (default: 1s)
//	PAYHOOK_RECONCILE_BACKOFF  the wait before the first poll of an expected payment's status (KKiaPay
//	                           with its API keys, KasperoPay), a Go duration; the next polls wait 2,
//	                           5, 10 and 30 times it, then 60 times it until the deadline (default:
//	                           1m)
//
// A secret holding a comma cannot be given in a list; an empty value in one
// ("a,,b") is refused. payhook send signs with the first of each list.
//
// Each event processed is written to stdout as one JSON line holding the
// provider's name, the idempotency key and the decoded event; a duplicate
// delivery prints nothing there, even after a restart or a crash with the
// default SQLite store, whose file the start-up log line names (WAL with
// synchronous=FULL: see go doc github.com/payhook/payhook/idempotency/sqlitestore). Rejections and duplicates are logged with
// their reason on stderr. GET /healthz answers 200; the public listener
// serves nothing else. The admin listener serves GET /metrics, pprof,
// the operator's endpoints and, at its root, the operator's page (events,
// the dead and overdue ones first, with Replay and Discard; see
// docs/operator.md), behind PAYHOOK_ADMIN_TOKEN beyond loopback.
// Each client (behind PAYHOOK_TRUSTED_PROXIES, the address they forward)
// has at most 16 requests in flight, or the rate limit's burst if more,
// 64 at most (64 with PAYHOOK_RATE_LIMIT=off; 429 beyond), all clients
// 256 (503 beyond); each peer that is not a trusted proxy 32 connections,
// each IPv6 /48 128, all 1,024 (closed as accepted beyond), a connection
// idle after its request 15 s; headers 32 KiB read within 5 s, a whole
// request within 10 s (docs/security.md). SIGINT or SIGTERM shuts
// the server down gracefully (and the inbox: running forwards may finish
// within 20 s; the others run at the next start).
//
// serve expects payments too (docs/reconcile.md): an application registers
// one with POST /expectations on the admin listener, an operator with
// payhook expect add, in PAYHOOK_STORE's backend. serve polls KKiaPay's and
// KasperoPay's status APIs for those no webhook settled, from its start
// (the first wait PAYHOOK_RECONCILE_BACKOFF, growing), and prints or
// forwards a payment it finds exactly as its webhook, under the same key;
// a record whose payment matched an expectation carries it ("expectation":
// the id, ref, amount and currency the application named). An expectation
// past its deadline with no outcome (Kazawallet's, which has no status
// API) is logged at ERROR, counted on /metrics and listed by payhook expect
// list --overdue.
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
//	payhook inbox replay ID...                dead entries pending again, with their attempts again
//	payhook inbox replay --force ID...        done entries too (a second delivery to the application)
//	payhook inbox replay --dead               every dead entry
//	payhook inbox discard --force ID...       delete entries that are not running
//
// Without --force, discard and replay of a done entry show the payment
// (provider, key, amount, currency, reference) and do nothing. An
// application answering 410 Gone refuses an event for good: dead at once.
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
// two agree when run with the same environment: Kazawallet's key and secret
// (createPaymentLink requires the key; webhooks are signed with both),
// KKiaPay's hash secret and API keys (without the keys its status API
// refuses every call), KASPEROPAY_ENABLED or KASPEROPAY_WEBHOOK_SECRET
// (which signs its webhooks), the first of each list, and PAYHOOK_ADDR for
// the port of the default webhook URLs. It serves only requests whose Host
// is localhost, a loopback address or the host of --addr (a page of another
// site resolving to 127.0.0.1 cannot drive it), and marks every webhook it
// sends with the header Payhook-Sandbox: 1, which serve logs a WARN for.
//
// Point serve at it with KKIAPAY_API_URL=http://127.0.0.1:8090 and
// KASPEROPAY_API_URL=http://127.0.0.1:8090, and the API clients with their
// base URL: http://127.0.0.1:8090/wallet for kazawallet.Client,
// http://127.0.0.1:8090 for the KKiaPay and KasperoPay clients.
package main
