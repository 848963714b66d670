package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/expect"
)

// The admin endpoints of expected payments, for an application in any
// language (docs/reconcile.md#in-payhook-serve):
//
//	POST   /expectations                    {"provider","id","ref","amount","currency","deadline"}: 201 and the expectation
//	GET    /expectations?state=&provider=   the expectations, the earliest deadline first (JSON lines)
//	DELETE /expectations/{provider}/{id}    cancel it (?ref=REF in place of the id: /expectations/{provider}?ref=REF)
//
// They are served on the admin listener only, behind its token: whoever
// can add an expectation decides what a payment must pay. A request that a
// browser says comes from another site (Sec-Fetch-Site, or Origin against
// Host) is answered 403: on loopback the listener takes no token, and a
// page elsewhere must not add or cancel expectations through the
// operator's browser (a form posted as text/plain needs no preflight).
func mountExpectations(mux *http.ServeMux, r *payhook.Reconciler, providers []string, logger *slog.Logger) {
	api := &expectAPI{r: r, providers: providers, logger: logger}
	cop := http.NewCrossOriginProtection()
	mux.Handle("POST /expectations", cop.Handler(http.HandlerFunc(api.add)))
	mux.HandleFunc("GET /expectations", api.list)
	mux.Handle("DELETE /expectations/{provider}/{id}", cop.Handler(http.HandlerFunc(api.cancel)))
	mux.Handle("DELETE /expectations/{provider}", cop.Handler(http.HandlerFunc(api.cancel)))
}

// expectAPI serves the endpoints of expected payments.
type expectAPI struct {
	r         *payhook.Reconciler
	providers []string // the providers serve mounts
	logger    *slog.Logger
}

// maxExpectationBody bounds the body of POST /expectations.
const maxExpectationBody = 16 << 10

// expectationRequest is the body of POST /expectations. Amount is a JSON
// string ("10.00"), or a number written as the amount is ("10.00" loses
// nothing either way: it is read as text). Deadline is an RFC 3339 time
// or a Go duration from now ("30m"); default 24h.
type expectationRequest struct {
	Provider string     `json:"provider"`
	ID       string     `json:"id"`
	Ref      string     `json:"ref"`
	Amount   amountText `json:"amount"`
	Currency string     `json:"currency"`
	Deadline string     `json:"deadline"`
}

// amountText reads a JSON string or number as its text.
type amountText string

func (a *amountText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		err := json.Unmarshal(b, &s)
		*a = amountText(s)
		return err
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("amount: want a string such as \"10.00\", or a number")
	}
	*a = amountText(n)
	return nil
}

// apiError answers status with {"error": msg}.
func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSONAnswer(w, status, map[string]string{"error": msg})
}

func writeJSONAnswer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (api *expectAPI) add(w http.ResponseWriter, r *http.Request) {
	var in expectationRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxExpectationBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(&in)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value: one expectation a request")
	}
	if err != nil {
		status := http.StatusBadRequest
		if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		apiError(w, status, "the body is not an expectation: "+jsonProblem(err))
		return
	}
	if !slices.Contains(api.providers, in.Provider) {
		apiError(w, http.StatusBadRequest, fmt.Sprintf("provider %q is not mounted (mounted: %s)", in.Provider, strings.Join(api.providers, ", ")))
		return
	}
	deadline, err := parseDeadline(in.Deadline, time.Now())
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	x := expect.Expectation{Provider: in.Provider, ID: in.ID, Ref: in.Ref, Amount: string(in.Amount), Currency: in.Currency, Deadline: deadline}
	var line bytes.Buffer
	err = addExpectation(r.Context(), api.r, x, &line)
	switch {
	case errors.Is(err, expect.ErrInvalid):
		apiError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "expect: "))
	case errors.Is(err, expect.ErrExists):
		apiError(w, http.StatusConflict, "the provider already expects a payment with this id or ref")
	case err != nil:
		api.logger.Error("payhook: expectation not added", "provider", x.Provider, "id", x.ID, "ref", x.Ref, "error", err)
		apiError(w, http.StatusServiceUnavailable, "the store could not be reached; try again")
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write(line.Bytes())
	}
}

// jsonProblem says what is wrong with a body, without quoting it.
func jsonProblem(err error) string {
	var tooLarge *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		return "over " + strconv.Itoa(maxExpectationBody) + " bytes"
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "not JSON"
	case errors.As(err, &typ):
		return typ.Field + " has the wrong type"
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// parseDeadline reads a deadline: an RFC 3339 time, or a Go duration from
// now; "" is payhook.DefaultExpectDeadline from now.
func parseDeadline(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return now.Add(payhook.DefaultExpectDeadline), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil && t.After(now) {
		return t, nil
	}
	return time.Time{}, errors.New("deadline: want a time to come (RFC 3339) or a duration such as 30m")
}

func (api *expectAPI) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := expect.Filter{Provider: q.Get("provider"), Limit: 1000}
	if s := q.Get("state"); s != "" {
		st, err := expect.ParseState(s)
		if err != nil {
			apiError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "expect: "))
			return
		}
		f.State = st
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			apiError(w, http.StatusBadRequest, "limit: want 1 or more")
			return
		}
		f.Limit = n
	}
	var out bytes.Buffer
	if err := listExpectations(r.Context(), api.r.Store(), f, &out); err != nil {
		api.logger.Error("payhook: expectations not listed", "error", err)
		apiError(w, http.StatusServiceUnavailable, "the store could not be reached; try again")
		return
	}
	w.Header().Set("Content-Type", "application/jsonl")
	w.Write(out.Bytes())
}

func (api *expectAPI) cancel(w http.ResponseWriter, r *http.Request) {
	k := expect.Key{Provider: r.PathValue("provider"), ID: r.PathValue("id")}
	if k.ID == "" {
		k.Ref = r.URL.Query().Get("ref")
	}
	if k.ID == "" && k.Ref == "" {
		apiError(w, http.StatusBadRequest, "name the expectation: /expectations/PROVIDER/ID or /expectations/PROVIDER?ref=REF")
		return
	}
	switch err := api.r.Store().Cancel(r.Context(), k); {
	case errors.Is(err, expect.ErrNotFound):
		apiError(w, http.StatusNotFound, "no such expectation")
	case errors.Is(err, expect.ErrState):
		apiError(w, http.StatusConflict, "settled already, by its payment")
	case err != nil:
		api.logger.Error("payhook: expectation not cancelled", "key", k.String(), "error", err)
		apiError(w, http.StatusServiceUnavailable, "the store could not be reached; try again")
	default:
		writeJSONAnswer(w, http.StatusOK, map[string]string{"cancelled": k.String()})
	}
}
