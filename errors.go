package payhook

import (
	"errors"
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

// statusOf maps an error to the status the middleware answers with. Errors
// that match no sentinel are the application's and answer 500.
func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrInvalidSignature):
		return http.StatusUnauthorized
	case errors.Is(err, ErrMalformed):
		return http.StatusBadRequest
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrMethodNotAllowed):
		return http.StatusMethodNotAllowed
	case errors.Is(err, ErrRateLimited):
		return http.StatusTooManyRequests
	case errors.Is(err, ErrInFlight):
		return http.StatusConflict
	case errors.Is(err, ErrUnavailable), errors.Is(err, ErrPending), errors.Is(err, idempotency.ErrFull):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
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
// when err carries one. Nothing of err itself reaches the client.
func writeError(w http.ResponseWriter, err error) int {
	code := statusOf(err)
	var re *retryError
	switch {
	case errors.As(err, &re):
		secs := int64((re.after + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	case errors.Is(err, ErrPending):
		w.Header().Set("Retry-After", pendingRetryAfter)
	}
	if code == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	http.Error(w, http.StatusText(code), code)
	return code
}
