package kazawallettest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
)

func TestAPI(t *testing.T) {
	api := kazawallettest.NewAPI(t)
	cl := api.Client()
	req := kazawallet.PaymentLinkRequest{Amount: payhook.MustAmount("10.00"), Currency: "USD", Email: "m@example.com",
		Ref: "order-42", RedirectURL: "https://shop.example/return"}
	link, err := cl.CreatePaymentLink(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, "lnk_1", link.OrderID)
	links := api.Links()
	require.Len(t, links, 1)
	assert.Equal(t, link.URL, links[0].URL)
	assert.Equal(t, kazawallettest.Link{OrderID: "lnk_1", URL: link.URL, Amount: req.Amount, Currency: "USD", Email: req.Email,
		Ref: req.Ref, RedirectURL: req.RedirectURL}, links[0])

	// The webhook for the link verifies.
	p, err := kazawallet.New("key", "secret")
	require.NoError(t, err)
	sender := kazawallettest.Sender{APIKey: "key", APISecret: "secret"}
	r := sender.Request("/", links[0].Event(kazawallet.Fulfilled))
	e, err := payhooktest.Verify(p, r)
	require.NoError(t, err)
	assert.Equal(t, "order-42", e.Ref)
	assert.True(t, e.Paid())

	calls := api.Calls()
	require.Len(t, calls, 1)
	assert.Equal(t, "/wallet/createPaymentLink", calls[0].Path)
	assert.Equal(t, "order-42", calls[0].ID)
	assert.JSONEq(t, `{"amount":"10.00","currency":"USD","email":"m@example.com","ref":"order-42","redirectUrl":"https://shop.example/return"}`,
		string(calls[0].Body))

	tests := []struct {
		name    string
		answer  payhooktest.Answer
		wantKey string
		wantErr error
	}{
		{"unknown account", payhooktest.NotFound(), "USER_NOT_FOUND", nil},
		{"down", payhooktest.Down(), "", payhook.ErrUnavailable},
		{"hangup", payhooktest.Hangup(), "", payhook.ErrUnavailable},
		{"blocked", payhooktest.Respond(http.StatusForbidden, `{"error":{"message":"Blocked","details":{"key":"USER_IS_BLOCK_DU_TO_CHANGING_THE_IP"}}}`),
			"USER_IS_BLOCK_DU_TO_CHANGING_THE_IP", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api.Set("bad", tt.answer)
			_, err := cl.CreatePaymentLink(context.Background(), kazawallet.PaymentLinkRequest{Amount: payhook.MustAmount("1"), Currency: "USD", Ref: "bad"})
			require.Error(t, err)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			}
			var apiErr *kazawallet.APIError
			if tt.wantKey != "" && assert.True(t, errors.As(err, &apiErr), "%v", err) {
				assert.Equal(t, tt.wantKey, apiErr.Key)
			}
		})
	}
	assert.Len(t, api.Links(), 1, "failed calls create no link")

	wrongKey, err := kazawallet.NewClient("other-key", kazawallet.WithBaseURL(api.URL()))
	require.NoError(t, err)
	_, err = wrongKey.CreatePaymentLink(context.Background(), req)
	var apiErr *kazawallet.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "USER_NOT_FOUND", apiErr.Key)
}
