// Package forward posts processed events to an application over HTTP,
// signed with the Standard Webhooks scheme (https://www.standardwebhooks.com),
// so that an application in any language verifies them with an existing
// library. payhook serve uses it to act as a gateway: it verifies each
// provider's webhook its own way, then forwards one uniform, signed request.
//
// Each request carries three headers:
//
//	webhook-id: kazawallet:ord_123          stable across retries of one event
//	webhook-timestamp: 1767225600           Unix seconds of this attempt
//	webhook-signature: v1,K5oZfzN95Z9UV...  base64 HMAC-SHA256 of "id.timestamp.body"
//
// keyed with the secret's bytes: a "whsec_" prefix followed by their
// base64, as Standard Webhooks libraries take it. The receiving application
// verifies the signature, refuses timestamps more than a few minutes away,
// and deduplicates on webhook-id: a forwarded event may arrive more than
// once (at least once is the guarantee), never with another id.
//
// The application answers 2xx to take an event. 410 Gone refuses it for
// good: [IsPermanent] says so, and payhook serve's inbox then gives the
// event up at once (dead, until an operator replays it) instead of
// retrying it. Every other answer is retried, 4xx included: it may come
// from a deployment in progress or a bug about to be fixed.
package forward

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Header names of the Standard Webhooks scheme.
const (
	HeaderID        = "Webhook-Id"
	HeaderTimestamp = "Webhook-Timestamp"
	HeaderSignature = "Webhook-Signature"
)

// SecretPrefix starts a Standard Webhooks secret.
const SecretPrefix = "whsec_"

// DefaultTimeout bounds one forwarding request.
const DefaultTimeout = 30 * time.Second

// DefaultTolerance is how far from now a timestamp [Verify] accepts.
const DefaultTolerance = 5 * time.Minute

var (
	// ErrSecret is returned for a secret that is not "whsec_" followed by
	// the base64 of at least 24 bytes.
	ErrSecret = errors.New("forward: invalid secret")
	// ErrSignature is returned by Verify for a request whose headers are
	// missing, whose timestamp is too far from now, or whose signature
	// does not match.
	ErrSignature = errors.New("forward: invalid signature")
)

// Key is a signing key, decoded from its "whsec_" form. It prints and logs
// as REDACTED.
type Key struct{ b []byte }

// ParseKey decodes a "whsec_" secret. The base64 may be standard or
// URL-safe, padded or not; the key must be at least 24 bytes long.
func ParseKey(secret string) (Key, error) {
	s, ok := strings.CutPrefix(strings.TrimSpace(secret), SecretPrefix)
	if !ok {
		return Key{}, fmt.Errorf("%w: it does not start with %q", ErrSecret, SecretPrefix)
	}
	var b []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	switch {
	case err != nil:
		return Key{}, fmt.Errorf("%w: what follows %q is not base64", ErrSecret, SecretPrefix)
	case len(b) < 24:
		return Key{}, fmt.Errorf("%w: %d bytes, want at least 24", ErrSecret, len(b))
	}
	return Key{b: b}, nil
}

// NewSecret returns a fresh random secret in its "whsec_" form, 32 bytes.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// String returns "REDACTED".
func (Key) String() string { return "REDACTED" }

// GoString returns "REDACTED".
func (Key) GoString() string { return "REDACTED" }

// Format prints "REDACTED" whatever the verb.
func (Key) Format(f fmt.State, _ rune) { io.WriteString(f, "REDACTED") }

// LogValue implements slog.LogValuer.
func (Key) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// MarshalJSON encodes "REDACTED".
func (Key) MarshalJSON() ([]byte, error) { return []byte(`"REDACTED"`), nil }

// Sign returns the webhook-signature value of body sent with id at ts:
// "v1," and the base64 HMAC-SHA256 of "id.ts.body".
func (k Key) Sign(id string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, k.b)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, ts.Unix(), 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Verify checks a forwarded request's headers against body: the three
// headers present, the timestamp within tolerance of now (DefaultTolerance
// when 0), and one of the space-separated v1 signatures matching, compared
// in constant time. Errors wrap ErrSignature and never hold the expected
// signature.
func (k Key) Verify(h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	id, ts, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || ts == "" || sigs == "" {
		return fmt.Errorf("%w: missing %s, %s or %s", ErrSignature, HeaderID, HeaderTimestamp, HeaderSignature)
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %.20q is not Unix seconds", ErrSignature, ts)
	}
	at := time.Unix(secs, 0)
	if d := now.Sub(at); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp %s is %s from now", ErrSignature, at.UTC().Format(time.RFC3339), d.Round(time.Second))
	}
	want := k.Sign(id, at, body)
	ok := 0
	for _, s := range strings.Fields(sigs) {
		ok |= subtle.ConstantTimeCompare([]byte(s), []byte(want))
	}
	if ok != 1 {
		return fmt.Errorf("%w: no v1 signature matches", ErrSignature)
	}
	return nil
}

// Forwarder posts events to one URL. Make one with [New]; it is safe for
// concurrent use, and prints, logs and writes its errors without its key,
// the URL's password or the values of its query (where an application's
// token often is: ?token=...).
type Forwarder struct {
	url     string
	shown   string // url without a password nor query values: Redact
	key     Key
	client  *http.Client
	timeout time.Duration
	now     func() time.Time
}

// transport is http.DefaultTransport's settings, but keeping up to 64 idle
// connections to the application instead of 2: an inbox's workers send at
// once, and with 2 kept, all but two of them dialed a new connection for
// each event.
func transport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}

// Option configures [New].
type Option func(*Forwarder)

// WithHTTPClient sets the client that sends the requests. Default: an
// http.Client that keeps up to 64 idle connections and follows no redirect (a redirect is not a delivery: it is
// answered as a failure and retried). nil is ignored.
func WithHTTPClient(c *http.Client) Option {
	return func(f *Forwarder) {
		if c != nil {
			f.client = c
		}
	}
}

// WithTimeout bounds each request; a request that takes longer is a
// failure. Default: DefaultTimeout. Values below 1 are ignored.
func WithTimeout(d time.Duration) Option {
	return func(f *Forwarder) {
		if d > 0 {
			f.timeout = d
		}
	}
}

// WithClock sets the clock of the timestamps. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return func(f *Forwarder) {
		if now != nil {
			f.now = now
		}
	}
}

// New returns a Forwarder that posts to target, an absolute http or https
// URL, signing with secret ("whsec_..."). An invalid URL or secret is an
// error; an empty secret is one, never "unsigned".
func New(target, secret string, opts ...Option) (*Forwarder, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("forward: the URL is not an absolute http(s) URL")
	}
	k, err := ParseKey(secret)
	if err != nil {
		return nil, err
	}
	f := &Forwarder{
		url: target, shown: Redact(u), key: k, timeout: DefaultTimeout, now: time.Now,
		client: &http.Client{Transport: transport(), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
	for _, o := range opts {
		if o != nil {
			o(f)
		}
	}
	return f, nil
}

// Redact returns u as the forwarder shows it: without its password, and
// with the value of every query parameter (or a part of the query that is
// not key=value) written xxxxx, so that a token in the URL is never
// printed, logged or kept in an error.
func Redact(u *url.URL) string {
	r := *u
	if r.RawQuery != "" {
		parts := strings.Split(r.RawQuery, "&")
		for i, p := range parts {
			if k, _, ok := strings.Cut(p, "="); ok {
				parts[i] = k + "=xxxxx"
			} else {
				parts[i] = "xxxxx"
			}
		}
		r.RawQuery = strings.Join(parts, "&")
	}
	r.Fragment, r.RawFragment = "", ""
	return r.Redacted()
}

// String describes f without its key or the URL's secrets (Redact).
func (f *Forwarder) String() string { return "forward.Forwarder{url: " + f.shown + ", key: REDACTED}" }

// LogValue implements slog.LogValuer.
func (f *Forwarder) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", f.shown), slog.String("key", "REDACTED"))
}

// ErrRequest is wrapped by the error of a request that cannot be built or
// sent as it is (an id that no header can carry): sending it again would
// fail the same way, so it is permanent ([IsPermanent]).
var ErrRequest = errors.New("forward: the request cannot be sent")

// StatusError is the error of a request that the application answered with
// a status other than 2xx.
type StatusError struct {
	// Code is the status code.
	Code int
	// Body is the start of the answer's body, for the log.
	Body string
}

// Permanent reports whether the answer refuses the event for good: 410
// Gone, the one status that says "never send this again" (as Standard
// Webhooks senders read it). Every other status, 4xx included, may come
// from an application being deployed or a bug about to be fixed, and is
// worth a retry: a retry costs a request, a payment given up costs money.
func (e *StatusError) Permanent() bool { return e.Code == http.StatusGone }

// IsPermanent reports whether err (from [Forwarder.Send]) will not change
// on a retry: the application answered 410 Gone, or the request cannot be
// sent ([ErrRequest]). The caller stops retrying the event.
func IsPermanent(err error) bool {
	var se *StatusError
	return errors.Is(err, ErrRequest) || (errors.As(err, &se) && se.Permanent())
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("forward: application answered %d", e.Code)
	}
	return fmt.Sprintf("forward: application answered %d: %.200q", e.Code, e.Body)
}

// Send posts body (JSON) with id as its webhook-id, and returns nil only
// when the application answers 2xx. A timeout, a refused connection, a
// redirect or any other status is an error: the caller retries with the
// same id, unless [IsPermanent] says a retry cannot succeed.
func (f *Forwarder) Send(ctx context.Context, id string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	if !validHeader(id) {
		return fmt.Errorf("%w: the webhook-id %.40q... holds a character no header can carry", ErrRequest, id)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRequest, stripURL(err))
	}
	now := f.now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "payhook-forward")
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, f.key.Sign(id, now, body))
	res, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("forward: POST %s: %w", f.shown, stripURL(err))
	}
	defer res.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) // let the connection be reused
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return &StatusError{Code: res.StatusCode, Body: strings.TrimSpace(string(head))}
	}
	return nil
}

// stripURL returns the error that err, a *url.Error, wraps: its text
// repeats the URL, password, token and all.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// validHeader reports whether s can be a header's value: no control
// character but tab (a CR or LF would end the header).
func validHeader(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
