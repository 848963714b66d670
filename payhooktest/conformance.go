package payhooktest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/internal/providertest"
)

// ProviderCase is what [TestProvider] needs to check a payhook.Provider:
// the provider, configured as a merchant would, and deliveries of its
// provider built with the provider's test kit.
type ProviderCase[E any] struct {
	// Provider is the provider under test. When it is a payhook.Confirmer,
	// its API (a fake) must confirm the Genuine delivery.
	Provider payhook.Provider[E]
	// Genuine is a delivery the provider accepts, as its provider sends
	// it. Its body is read through GetBody, which the test kits' builders
	// set, so that it can be sent again as a duplicate.
	Genuine *http.Request
	// Forged are deliveries the provider must refuse with
	// payhook.ErrInvalidSignature: signed with another secret, or not
	// signed. At least one is needed.
	Forged []*http.Request
	// Malformed are deliveries the provider must refuse with
	// payhook.ErrMalformed, besides the ones the suite adds (an empty
	// body, JSON null, an array, a truncated object) that every provider
	// must refuse with ErrMalformed or ErrInvalidSignature.
	Malformed []*http.Request
	// Secrets are the texts that must never appear in an error, in the
	// provider printed or logged, or in an event: the merchant's
	// credentials, and the signatures the provider expects of the
	// deliveries above.
	Secrets []string
}

// TestProvider checks that c.Provider keeps the contract of
// payhook.Provider, in the manner of testing/slogtest: it returns an error
// describing every way it does not, or nil. It checks that:
//
//   - the genuine delivery is accepted (by Verify, then Confirm for a
//     payhook.Confirmer), with a key, the same for a duplicate;
//   - the event does not change when the body's buffer is overwritten
//     after Verify and Confirm return: Verify does not keep body;
//   - each forged delivery is refused with payhook.ErrInvalidSignature,
//     each malformed one with payhook.ErrMalformed, and no error holds a
//     secret;
//   - neither the provider printed with any fmt verb or logged by
//     log/slog, nor the event printed or encoded as JSON, holds a secret;
//   - through payhook.Handle, the genuine delivery reaches the handler
//     once, its duplicate is answered 200 without reaching it again, and a
//     forged delivery is answered 401.
//
// TestProvider imports nothing of any provider.
func TestProvider[E any](c ProviderCase[E]) error {
	var errs []error
	for _, check := range providerChecks[E]() {
		if err := check.run(c); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", check.name, err))
		}
	}
	return errors.Join(errs...)
}

// RunProvider runs TestProvider's checks as subtests of t, one a check.
func RunProvider[E any](t *testing.T, c ProviderCase[E]) {
	t.Helper()
	for _, check := range providerChecks[E]() {
		t.Run(check.name, func(t *testing.T) {
			if err := check.run(c); err != nil {
				t.Error(err)
			}
		})
	}
}

type providerCheck[E any] struct {
	name string
	run  func(ProviderCase[E]) error
}

func providerChecks[E any]() []providerCheck[E] {
	return []providerCheck[E]{
		{"genuine", checkGenuine[E]},
		{"body not kept", checkBodyNotKept[E]},
		{"refusals", checkRefusals[E]},
		{"no secret printed", checkPrinted[E]},
		{"through payhook.Handle", checkHandle[E]},
	}
}

// verify is the whole check of a delivery outside the middleware: Verify,
// then Confirm when p confirms events.
func verify[E any](p payhook.Provider[E], h http.Header, body []byte) (E, error) {
	e, err := p.Verify(context.Background(), h, body)
	if c, ok := p.(payhook.Confirmer[E]); ok && err == nil {
		err = c.Confirm(context.Background(), &e)
	}
	return e, err
}

// Verify checks r as payhook's middleware would, without claiming
// anything: p.Verify with r's header and body, then p.Confirm when p is a
// payhook.Confirmer. It reads r's body through GetBody when set, so that
// r can be sent again.
func Verify[E any](p payhook.Provider[E], r *http.Request) (E, error) {
	body, err := providertest.ReadBody(r)
	if err != nil {
		var zero E
		return zero, err
	}
	return verify(p, r.Header, body)
}

func checkGenuine[E any](c ProviderCase[E]) error {
	e, err := Verify(c.Provider, c.Genuine)
	if err != nil {
		return fmt.Errorf("the genuine delivery is refused: %w", err)
	}
	key := c.Provider.Key(e)
	if key == "" {
		return errors.New("the genuine delivery's event has no key")
	}
	dup, err := Verify(c.Provider, c.Genuine)
	if err != nil {
		return fmt.Errorf("a duplicate of the genuine delivery is refused: %w", err)
	}
	if k := c.Provider.Key(dup); k != key {
		return fmt.Errorf("a duplicate has the key %q, the first %q", k, key)
	}
	return nil
}

// snapshot is everything of e that printing and encoding show.
func snapshot[E any](e E) string {
	b, _ := json.Marshal(e)
	return fmt.Sprintf("%#v\n%s", e, b)
}

func checkBodyNotKept[E any](c ProviderCase[E]) error {
	body, err := providertest.ReadBody(c.Genuine)
	if err != nil {
		return err
	}
	for _, fill := range []byte{'x', 0, '"'} {
		buf := bytes.Clone(body)
		e, err := verify(c.Provider, c.Genuine.Header, buf)
		if err != nil {
			return fmt.Errorf("the genuine delivery is refused: %w", err)
		}
		before := snapshot(e)
		for i := range buf { // as the middleware's next request reuses it
			buf[i] = fill
		}
		if after := snapshot(e); after != before {
			return fmt.Errorf("the event changed when the body's buffer was overwritten after Verify returned: Verify keeps body (event was %s, is %s)", before, after)
		}
	}
	return nil
}

func checkRefusals[E any](c ProviderCase[E]) error {
	if len(c.Forged) == 0 {
		return errors.New("no forged delivery to check: give at least one")
	}
	var errs []error
	refuse := func(what string, r *http.Request, want ...error) {
		_, err := Verify(c.Provider, r)
		switch {
		case err == nil:
			errs = append(errs, fmt.Errorf("%s accepted", what))
			return
		case !isAny(err, want):
			errs = append(errs, fmt.Errorf("%s refused with %q, which wraps none of %v", what, err, want))
		}
		if s := leaked(err.Error(), c.Secrets); s != "" {
			errs = append(errs, fmt.Errorf("%s: the error shows the secret %q: %q", what, s, err))
		}
	}
	for i, r := range c.Forged {
		refuse(fmt.Sprintf("forged delivery %d", i), r, payhook.ErrInvalidSignature)
	}
	for i, r := range c.Malformed {
		refuse(fmt.Sprintf("malformed delivery %d", i), r, payhook.ErrMalformed)
	}
	for _, body := range []string{"", "null", "[]", "{", `"x"`} {
		r := c.Genuine.Clone(context.Background())
		r.Body, r.GetBody = io.NopCloser(strings.NewReader(body)), nil
		refuse(fmt.Sprintf("body %q with the genuine header", body), r, payhook.ErrMalformed, payhook.ErrInvalidSignature)
	}
	return errors.Join(errs...)
}

func isAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// leaked returns the first of secrets that s holds, or "".
func leaked(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			return sec
		}
	}
	return ""
}

func checkPrinted[E any](c ProviderCase[E]) error {
	var errs []error
	p := c.Provider
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%t"} {
		outs = append(outs, fmt.Sprintf(verb, p))
	}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("p", "provider", p)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("p", "provider", p)
	outs = append(outs, logs.String())
	for _, out := range outs {
		if s := leaked(out, c.Secrets); s != "" {
			errs = append(errs, fmt.Errorf("the provider, printed or logged, shows the secret %q: %s", s, out))
			break
		}
	}
	if e, err := Verify(p, c.Genuine); err == nil {
		if s := leaked(snapshot(e)+fmt.Sprintf("%v %+v", e, e), c.Secrets); s != "" {
			errs = append(errs, fmt.Errorf("the event, printed or encoded, shows the secret %q", s))
		}
	}
	return errors.Join(errs...)
}

func checkHandle[E any](c ProviderCase[E]) error {
	var rec Recorder[E]
	rt := Handler(payhook.Handle(c.Provider, rec.Handle))
	var errs []error
	res := deliver.Send(rt, c.Genuine, deliver.Policy{})
	if !res.Acknowledged() || strings.TrimSpace(res.Last().Body) != "ok" {
		errs = append(errs, fmt.Errorf("the genuine delivery was answered %s", res))
	}
	res = deliver.Send(rt, c.Genuine, deliver.Policy{})
	if !res.Acknowledged() || strings.TrimSpace(res.Last().Body) != "already processed" {
		errs = append(errs, fmt.Errorf("its duplicate was answered %s", res))
	}
	if len(c.Forged) > 0 {
		if res = deliver.Send(rt, c.Forged[0], deliver.Policy{}); res.Last().Status != http.StatusUnauthorized {
			errs = append(errs, fmt.Errorf("the forged delivery was answered %s", res))
		}
	}
	if n := len(rec.Events()); n != 1 {
		errs = append(errs, fmt.Errorf("the handler processed %d events, want 1", n))
	}
	return errors.Join(errs...)
}
