package kazawallet_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
)

// Rotating the credentials: the new pair is given beside the old one while
// Kazawallet's merchant settings change, so that a webhook signed with
// either is accepted; a webhook signed with neither is not.
func ExampleWithSecrets() {
	kw, err := kazawallet.New("new_api_key", "new_api_secret",
		kazawallet.WithSecrets(kazawallet.KeyPair{APIKey: "old_api_key", APISecret: "old_api_secret"}))
	if err != nil {
		log.Fatal(err) // an empty key or secret is refused
	}
	h := payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error { return nil })

	e := kazawallet.Event{OrderID: "lnk_1", Amount: payhook.MustAmount("10.00"), Currency: "USD", Type: kazawallet.Fulfilled}
	for _, signer := range []kazawallettest.Sender{
		{APIKey: "old_api_key", APISecret: "old_api_secret"},
		{APIKey: "new_api_key", APISecret: "new_api_secret"},
		{APIKey: "new_api_key", APISecret: "a_guess"},
	} {
		e.OrderID += "0" // a new link each time, so that none is a duplicate
		w := httptest.NewRecorder()
		h.ServeHTTP(w, signer.Request("/webhooks/kazawallet", e))
		fmt.Println(w.Code)
	}
	// Output:
	// 200
	// 200
	// 401
}
