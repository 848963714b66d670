package payhook

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/internal/sentinel"
)

// Sentinel errors. Providers wrap them with %w, so that one errors.Is test
// works whichever provider rejected a delivery. Each maps to one HTTP status,
// in one place: the middleware answers with that status and its standard
// text, never with the error itself, which goes to the logger.
var (
	// ErrInvalidSignature means the delivery could not be authenticated: its
	// signature is missing or wrong, or the provider's API does not confirm
	// it. Status 401.
	ErrInvalidSignature = errors.New("payhook: invalid signature")
	// ErrMalformed means the body could not be decoded into an event, or
	// lacks a field the event needs. Status 400.
	ErrMalformed = errors.New("payhook: malformed payload")
	// ErrTooLarge means the body exceeds the configured limit. Status 413.
	ErrTooLarge = errors.New("payhook: body too large")
	// ErrMethodNotAllowed means the request is not a POST. Status 405.
	ErrMethodNotAllowed = errors.New("payhook: method not allowed")
	// ErrRateLimited means the client sent more requests than its rate
	// limit allows. Status 429, with Retry-After.
	ErrRateLimited = errors.New("payhook: rate limited")
	// ErrInFlight means another request is processing the same event right
	// now. Status 409 with Retry-After, so a retrying provider comes back
	// and gets the final answer.
	ErrInFlight = errors.New("payhook: event in flight")
	// ErrUnavailable means something the delivery depends on could not be
	// reached: the idempotency store, or a provider API that confirms
	// payments. Status 503, so providers that retry will.
	ErrUnavailable = errUnavailable() // "payhook: unavailable"
	// ErrPending means the delivery is genuine as far as can be told, but
	// the provider's API has not settled the payment yet (KKiaPay's
	// PENDING, KasperoPay's pending or confirming): not a forgery, not yet
	// a payment. Status 503 with Retry-After; with an inbox
	// ([WithInbox]), the delivery is kept and confirmed again later.
	ErrPending = errors.New("payhook: payment not settled yet")

	// ErrConfig is wrapped by constructors given an unusable configuration,
	// such as an empty secret: payhook never runs with verification off.
	ErrConfig = sentinel.ErrConfig // "payhook: invalid configuration"
)

// errUnavailable is the error that internal packages wrap without
// importing this one (internal/apiclient).
func errUnavailable() error { return sentinel.ErrUnavailable }

// class is what hangs off a sentinel error: the status a delivery it
// refuses is answered, the Reason the observer is told, the level of the
// log line, and the Retry-After of an answer whose error carries none.
type class struct {
	err        error
	status     int
	reason     Reason
	level      slog.Level
	retryAfter string // seconds; "" for none
}

// classes is the one table of the sentinel errors, tried in order: an
// error's class is that of the first sentinel it wraps (ErrPending before
// ErrUnavailable: a payment not settled is the more precise reason).
var classes = [...]class{
	{ErrInvalidSignature, http.StatusUnauthorized, ReasonInvalidSignature, slog.LevelWarn, ""},
	{ErrMalformed, http.StatusBadRequest, ReasonMalformed, slog.LevelWarn, ""},
	{ErrTooLarge, http.StatusRequestEntityTooLarge, ReasonTooLarge, slog.LevelWarn, ""},
	{ErrMethodNotAllowed, http.StatusMethodNotAllowed, ReasonMethodNotAllowed, slog.LevelInfo, ""},
	{ErrRateLimited, http.StatusTooManyRequests, ReasonRateLimited, slog.LevelInfo, ""},
	{ErrInFlight, http.StatusConflict, ReasonInFlight, slog.LevelInfo, ""},
	{ErrPending, http.StatusServiceUnavailable, ReasonPending, slog.LevelError, pendingRetryAfter},
	{ErrUnavailable, http.StatusServiceUnavailable, ReasonUnavailable, slog.LevelError, ""},
	{idempotency.ErrFull, http.StatusServiceUnavailable, ReasonUnavailable, slog.LevelError, ""},
	{ErrUnexpected, http.StatusServiceUnavailable, ReasonUnexpected, slog.LevelError, unexpectedRetryAfter},
	{ErrMismatch, http.StatusInternalServerError, ReasonMismatch, slog.LevelError, ""},
}

// appError is the class of an error that wraps no sentinel: the
// application's, answered 500.
var appError = class{status: http.StatusInternalServerError, reason: ReasonHandler, level: slog.LevelError}

// classOf returns err's class; nil has none (status 200, ReasonNone).
func classOf(err error) class {
	if err == nil {
		return class{status: http.StatusOK}
	}
	for _, c := range classes {
		if errors.Is(err, c.err) {
			return c
		}
	}
	return appError
}

// pendingRetryAfter is the Retry-After of ErrPending, in seconds: the time a
// payment commonly takes to settle.
const pendingRetryAfter = "30"

// retryError carries the Retry-After a rejection answers with.
type retryError struct {
	err   error
	after time.Duration
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// writeError answers err's status with its standard text, and Retry-After
// when err or its class carries one, and returns the class. Nothing of err
// itself reaches the client.
func writeError(w http.ResponseWriter, err error) class {
	c := classOf(err)
	var re *retryError
	if errors.As(err, &re) {
		secs := int64((re.after + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	} else if c.retryAfter != "" {
		w.Header().Set("Retry-After", c.retryAfter)
	}
	if c.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	http.Error(w, http.StatusText(c.status), c.status)
	return c
}
