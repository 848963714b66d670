// Package apiclient is the HTTP plumbing that the providers' API clients
// share: base URL, injectable *http.Client, static auth headers, JSON
// bodies, bounded responses, and "could not reach the API" as
// payhook.ErrUnavailable (through internal/sentinel: an internal package
// does not import the root).
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/payhook/payhook/internal/secret"
	"github.com/payhook/payhook/internal/sentinel"
)

// DefaultTimeout bounds a call when the caller gives no timeout.
const DefaultTimeout = 15 * time.Second

// MaxResponseBytes caps the body read from an API answer.
const MaxResponseBytes = 1 << 20

// Client calls one provider's API. It is safe for concurrent use. Its
// base URL (which may hold a proxy's password) and its headers' values
// (API keys) are secret.Values, so that no printing of a Client shows them.
type Client struct {
	base     secret.Value
	redacted string // base without a password, for printing
	http     *http.Client
	header   map[string]secret.Value
	timeout  time.Duration
}

// New returns a Client for the API at base (no trailing slash needed).
// header is sent with every request, its values being credentials. Each
// call is bounded by timeout (DefaultTimeout when not above 0), whatever
// hc's own Timeout; hc nil means an http.Client that follows redirects
// only within the API's host.
func New(base string, hc *http.Client, header map[string]string, timeout time.Duration) *Client {
	if hc == nil {
		hc = &http.Client{CheckRedirect: sameHost}
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	base = strings.TrimRight(base, "/")
	c := &Client{base: secret.New(base), redacted: base, http: hc, header: map[string]secret.Value{}, timeout: timeout}
	for k, v := range header {
		c.header[http.CanonicalHeaderKey(k)] = secret.New(v)
	}
	if u, err := url.Parse(base); err == nil {
		c.redacted = u.Redacted()
	}
	return c
}

// CheckBase returns an error unless base is an absolute http or https URL
// without query or fragment, fit to be a Client's base. The error quotes
// base, unless base holds credentials (a proxy's user and password).
func CheckBase(base string) error {
	u, err := url.Parse(base)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.RawQuery == "" && u.Fragment == "" {
		return nil
	}
	shown := strconv.Quote(base)
	if strings.Contains(base, "@") {
		shown = "(not shown: it holds credentials)"
	}
	return fmt.Errorf("base URL %s is not an absolute http(s) URL without query", shown)
}

// Redacted returns the base URL with any password hidden, for printing.
func (c *Client) Redacted() string { return c.redacted }

// sameHost follows a redirect only to the host of the original request:
// net/http forwards the providers' key headers (x-api-key, x-private-key,
// ...) to wherever a redirect points, stripping only Authorization and
// Cookie.
func sameHost(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if req.URL.Host != via[0].URL.Host {
		return fmt.Errorf("redirect to another host (%s) refused: it would carry the API keys", req.URL.Host)
	}
	return nil
}

// Base returns the base URL.
func (c *Client) Base() string { return c.base.Reveal() }

// Response is an API's answer, whatever its status.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// OK reports whether the status is 2xx.
func (r Response) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Do sends method to base+path. A non-nil in is encoded as a JSON body.
// Every answer that arrives is returned with a nil error, whatever its
// status; the error is for answers that never came (network, timeout,
// canceled context, a body over MaxResponseBytes) and wraps
// payhook.ErrUnavailable. Errors never hold the request's headers, nor a
// password in base.
func (c *Client) Do(ctx context.Context, method, path string, in any) (Response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return Response{}, fmt.Errorf("encoding request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.Reveal()+path, body)
	if err != nil { // url.Error's text would repeat the URL, password and all
		return Response{}, fmt.Errorf("%w: invalid API URL: %w", sentinel.ErrUnavailable, unwrapURLError(err))
	}
	where := method + " " + req.URL.Redacted()
	for k, v := range c.header {
		req.Header[k] = []string{v.Reveal()}
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("%w: %s: %w", sentinel.ErrUnavailable, where, unwrapURLError(err))
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, MaxResponseBytes+1))
	if err != nil {
		return Response{}, fmt.Errorf("%w: %s: reading answer: %w", sentinel.ErrUnavailable, where, err)
	}
	if len(b) > MaxResponseBytes {
		return Response{}, fmt.Errorf("%w: %s: answer over %d bytes", sentinel.ErrUnavailable, where, MaxResponseBytes)
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

// unwrapURLError drops *url.Error's repetition of method and URL.
func unwrapURLError(err error) error {
	if u, ok := err.(interface{ Unwrap() error }); ok {
		if inner := u.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// Decode decodes a JSON answer into out, reporting a body that is not JSON
// with its status and a short excerpt.
func Decode(r Response, out any) error {
	if err := json.Unmarshal(r.Body, out); err != nil {
		return fmt.Errorf("answer %d is not the expected JSON (%.80q): %w", r.Status, r.Body, err)
	}
	return nil
}

// Timeout returns the bound of each call.
func (c *Client) Timeout() time.Duration { return c.timeout }
