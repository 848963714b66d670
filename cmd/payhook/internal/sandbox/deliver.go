package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/payhook/payhook/deliver"
)

// policy is how a provider delivers a webhook: its Sender's Policy.
type policy = deliver.Policy

// sleep waits for real.
var sleep = deliver.Sleep

// delivery is one delivery of a payment's webhook: its first attempt and
// the retries its provider makes. The fields after the first group change
// while it is in flight, under the Sandbox's lock.
type delivery struct {
	id       int
	payment  *payment
	url      string
	header   http.Header
	body     []byte
	policy   policy
	shown    string // the request as the pages show it: secrets cut out
	resendOf int    // the delivery this one sends again; 0 for none

	attempts []attempt
	nextWait time.Duration // the wait before the coming attempt
	waiting  bool          // between two attempts
	done     bool
}

// attempt is one attempt of a delivery and the merchant's answer.
type attempt struct {
	at     time.Time
	wait   time.Duration // before this attempt; 0 for the first
	status int           // 0 when no answer came
	body   string        // the answer's start
	err    string        // why no answer came
}

// ok reports whether the merchant acknowledged: 2xx.
func (a attempt) ok() bool { return a.err == "" && a.status >= 200 && a.status <= 299 }

// maxAnswer bounds the merchant's answer that is read; maxShown what of it
// the pages show.
const (
	maxAnswer = 1 << 20
	maxShown  = 2 << 10
)

// newDeliveryLocked builds p's webhook and records a delivery of it, which
// sends again delivery resendOf when that is not 0. s.mu is held. It fails
// only when the provider's Sender cannot build the webhook.
func (s *Sandbox) newDeliveryLocked(p *payment, resendOf int) (*delivery, error) {
	target := p.provider.webhookURL()
	r, pol, shown, err := p.provider.webhook(p, target)
	if err != nil {
		return nil, fmt.Errorf("the webhook could not be built: %w", err)
	}
	rc, _ := r.GetBody() // the Senders set it
	body, _ := io.ReadAll(rc)
	d := &delivery{
		id: len(s.deliveries) + 1, payment: p, url: target, header: r.Header,
		body: body, policy: pol, resendOf: resendOf, shown: shown,
	}
	s.deliveries = append(s.deliveries, d)
	p.deliveries = append(p.deliveries, d)
	return d, nil
}

// resend delivers again delivery n: the same request, as its provider
// delivers. It returns the payment's provider and id.
func (s *Sandbox) resend(n int) (provider, id string, err error) {
	s.mu.Lock()
	if n < 1 || n > len(s.deliveries) || s.deliveries[n-1] == nil {
		s.mu.Unlock()
		return "", "", errNotFound
	}
	old := s.deliveries[n-1]
	p := old.payment
	d := &delivery{
		id: len(s.deliveries) + 1, payment: p, url: old.url, header: old.header,
		body: old.body, policy: old.policy, shown: old.shown, resendOf: n,
	}
	s.deliveries = append(s.deliveries, d)
	p.deliveries = append(p.deliveries, d)
	s.mu.Unlock()
	s.start(d)
	return p.provider.name(), p.id, nil
}

// Header marks every webhook the sandbox sends, with the value "1": its
// webhooks are signed with the merchant's own credentials, so that payhook
// serve takes them, and this header is what tells them from a provider's
// (serve warns when one reaches it).
const Header = "Payhook-Sandbox"

// start delivers d in the background, recording each attempt as it is
// answered. After Close, it records that nothing was sent.
func (s *Sandbox) start(d *delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		d.done = true
		d.attempts = append(d.attempts, attempt{at: s.now(), err: "not sent: the sandbox is shutting down"})
		return
	}
	s.flights.Add(1) // under s.mu, so never after Close's Wait began
	go func() {
		defer s.flights.Done()
		r, _ := http.NewRequestWithContext(s.ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
		r.Header = d.header.Clone()
		r.Header.Set(Header, "1")
		p := d.policy
		p.Sleep = func(ctx context.Context, wait time.Duration) error {
			s.mu.Lock()
			d.nextWait, d.waiting = wait, true
			s.mu.Unlock()
			return s.sleep(ctx, wait)
		}
		res := deliver.Send(recorder{s: s, d: d}, r, p)
		s.mu.Lock()
		defer s.mu.Unlock()
		if last := res.Last(); len(res.Attempts) > len(d.attempts) && last.Err != nil {
			d.attempts = append(d.attempts, attempt{at: s.now(), wait: last.Wait, err: "not sent: " + last.Err.Error()})
		}
		d.done, d.waiting = true, false
	}()
}

// recorder sends each attempt of a delivery and records its answer as soon
// as it comes, so that the pages show a delivery in flight.
type recorder struct {
	s *Sandbox
	d *delivery
}

func (rec recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	s, d := rec.s, rec.d
	a := attempt{at: s.now()}
	s.mu.Lock()
	a.wait, d.nextWait, d.waiting = d.nextWait, 0, false
	s.mu.Unlock()
	res, err := s.transport.RoundTrip(r)
	if err != nil {
		a.err = err.Error()
		s.record(d, a)
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	res.Body.Close()
	a.status, a.body = res.StatusCode, excerpt(body)
	if err != nil {
		a.err = "reading the answer: " + err.Error()
	}
	s.record(d, a)
	res.Body = io.NopCloser(bytes.NewReader(body))
	return res, nil
}

// record adds a to d's attempts and logs it.
func (s *Sandbox) record(d *delivery, a attempt) {
	s.mu.Lock()
	d.attempts = append(d.attempts, a)
	n := len(d.attempts)
	s.mu.Unlock()
	args := []any{"provider", d.payment.provider.name(), "id", d.payment.id, "delivery", d.id, "attempt", n, "url", redact(d.url)}
	if a.err != "" {
		args = append(args, "error", a.err)
	} else {
		args = append(args, "status", a.status)
	}
	s.logger.Info("sandbox: webhook delivered", args...)
}

// excerpt is the start of an answer, as text for the pages.
func excerpt(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if len(s) > maxShown {
		s = strings.ToValidUTF8(s[:maxShown], "") + "…"
	}
	return strings.TrimSpace(s)
}

// show writes a request as the pages show it: its header, with the values
// of the headers named in secret replaced by REDACTED, and body, in which
// the provider has already cut out what must not be shown.
func show(r *http.Request, body []byte, secret ...string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(r.Header)) {
		for _, v := range r.Header[k] {
			if slices.ContainsFunc(secret, func(s string) bool { return http.CanonicalHeaderKey(s) == k }) {
				v = "REDACTED"
			}
			b.WriteString(k + ": " + v + "\n")
		}
	}
	b.WriteString("\n")
	b.Write(body)
	return b.String()
}
