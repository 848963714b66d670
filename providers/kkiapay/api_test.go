package kkiapay_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kkiapay"
	"github.com/payhook/payhook/providers/kkiapay/kkiapaytest"
)

// The API keys the fake API (kkiapaytest's) expects.
const publicKey, privateKey, secretKey = kkiapaytest.PublicKey, kkiapaytest.PrivateKey, kkiapaytest.SecretKey

// statusAnswer is the status API's answer of PROVIDERS.md.
const statusAnswer = `{"performed_at":"2026-07-13T06:34:50.276Z","type":"DEBIT","status":"SUCCESS","source":"MOBILE_MONEY",
 "source_common_name":"mtn-benin","amount":25350,"fees":254,"reason":"Order 42","failureCode":"",
 "failureMessage":"","state":null,"partnerId":"","feeSupportedBy":"merchant","income":25096,
 "transactionId":"6516521598463777","performedAt":"13/07/2026",
 "client":{"fullname":"Anonymous customer","phone":"2290167329510","email":""}}`

// fakeAPI is kkiapaytest's fake of KKiaPay's transaction API, with the
// helpers these tests share: raw answers and PROVIDERS.md's answer.
type fakeAPI struct{ *kkiapaytest.API }

func newFakeAPI(t testing.TB) *fakeAPI { return &fakeAPI{kkiapaytest.NewAPI(t)} }

// answer sets the answer for id: status and body as given.
func (f *fakeAPI) answer(id string, code int, body string) {
	f.Set(id, payhooktest.Respond(code, body))
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

// hold makes the answer for id wait until the caller gives up, until
// another answer is set.
func (f *fakeAPI) hold(id string) {
	f.Set(id, payhooktest.Slow(time.Hour, payhooktest.Answer{}))
}

func (f *fakeAPI) calls() []payhooktest.Call { return f.Calls() }

func (f *fakeAPI) client(t testing.TB, opts ...kkiapay.ClientOption) *kkiapay.Client {
	t.Helper()
	return f.Client(opts...)
}

func assertKeysSent(t *testing.T, c payhooktest.Call) {
	t.Helper()
	assert.Equal(t, [3]string{publicKey, privateKey, secretKey},
		[3]string{c.Header.Get("x-api-key"), c.Header.Get("x-private-key"), c.Header.Get("x-secret-key")})
}
