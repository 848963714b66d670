package kkiapay_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/providers/kkiapay"
)

// The API keys the fake API expects.
const publicKey, privateKey, secretKey = "pk_test_7f3a", "tpk_test_91c2", "tsk_test_d04e"

// statusAnswer is the status API's answer of PROVIDERS.md.
const statusAnswer = `{"performed_at":"2026-07-13T06:34:50.276Z","type":"DEBIT","status":"SUCCESS","source":"MOBILE_MONEY",
 "source_common_name":"mtn-benin","amount":25350,"fees":254,"reason":"Order 42","failureCode":"",
 "failureMessage":"","state":null,"partnerId":"","feeSupportedBy":"merchant","income":25096,
 "transactionId":"6516521598463777","performedAt":"13/07/2026",
 "client":{"fullname":"Anonymous customer","phone":"2290167329510","email":""}}`

// fakeAPI answers as KKiaPay's transaction API does: 401 without the
// right keys, and for each transaction id the answer set with answer (an
// unknown id gets 404 {"message":"Transaction not found"}). While hold is
// set, requests wait for it to close or for the client to give up.
type fakeAPI struct {
	*httptest.Server
	mu       sync.Mutex
	answers  map[string]fakeAnswer
	hold     chan struct{}
	requests []fakeRequest
}

type fakeAnswer struct {
	code int
	body string
}

type fakeRequest struct {
	Method, Path, ContentType string
	Keys                      [3]string
	TransactionID             string
}

func newFakeAPI(t testing.TB) *fakeAPI {
	f := &fakeAPI{answers: map[string]fakeAnswer{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	var in struct {
		TransactionID string `json:"transactionId"`
	}
	b, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(b, &in)
	f.mu.Lock()
	f.requests = append(f.requests, fakeRequest{
		Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"),
		Keys:          [3]string{r.Header.Get("x-api-key"), r.Header.Get("x-private-key"), r.Header.Get("x-secret-key")},
		TransactionID: in.TransactionID,
	})
	a, ok := f.answers[r.URL.Path+" "+in.TransactionID]
	if !ok {
		a, ok = f.answers[in.TransactionID]
	}
	hold := f.hold
	f.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Header.Get("x-api-key") != publicKey || r.Header.Get("x-private-key") != privateKey || r.Header.Get("x-secret-key") != secretKey:
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"status":401,"message":"Unauthorized: bad api keys"}`)
	case !ok:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"Transaction not found"}`)
	default:
		w.WriteHeader(a.code)
		io.WriteString(w, a.body)
	}
}

// answer sets the answer for id, on every path, or on one path when id is
// "path id".
func (f *fakeAPI) answer(id string, code int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[id] = fakeAnswer{code, body}
}

// transaction sets a 200 answer: statusAnswer with its fields changed.
func (f *fakeAPI) transaction(t testing.TB, id string, changes map[string]any) {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(statusAnswer), &m))
	m["transactionId"] = id
	for k, v := range changes {
		m[k] = v
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	f.answer(id, http.StatusOK, string(b))
}

// setHold makes requests wait until the returned func is called.
func (f *fakeAPI) setHold() (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := make(chan struct{})
	f.hold = h
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.hold == h {
			f.hold = nil
			close(h)
		}
	}
}

func (f *fakeAPI) calls() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.requests...)
}

func (f *fakeAPI) client(t testing.TB, opts ...kkiapay.Option) *kkiapay.Client {
	t.Helper()
	cl, err := kkiapay.NewClient(publicKey, privateKey, secretKey, append([]kkiapay.Option{kkiapay.WithBaseURL(f.URL)}, opts...)...)
	require.NoError(t, err)
	return cl
}

func assertKeysSent(t *testing.T, r fakeRequest) {
	t.Helper()
	assert.Equal(t, [3]string{publicKey, privateKey, secretKey}, r.Keys)
}
