package kazawallet

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/jsonx"
)

// FuzzDecodeForm (issue 8, finding 9): the form decoder never panics; it
// accepts a form body exactly when net/url parses it, no field it reads is
// repeated and the amount is a decimal; and it reads each field as
// url.ParseQuery does, so the application reading r.FormValue sees what was
// verified.
func FuzzDecodeForm(f *testing.F) {
	for _, s := range []string{
		"order_id=ord_1&secret=abc%2B%3D%3D&amount=10.00&ref=r1&status=fulfilled&currency=USD",
		"id=42&amount=1e3&secret=a b",
		"order_id=a&order_id=b",
		"amount=ten",
		"%zz=1",
		"order_id=ord_1;amount=10",
		"",
		"&&&=",
	} {
		f.Add(s)
	}
	fields := []string{"order_id", "id", "secret", "amount", "ref", "status", "currency"}
	f.Fuzz(func(t *testing.T, body string) {
		if jsonx.IsJSON([]byte(body)) {
			return
		}
		var w wire
		err := w.decode([]byte(body))
		form, perr := url.ParseQuery(body)
		if perr != nil {
			if err == nil {
				t.Fatalf("%q: accepted a body net/url refuses: %v", body, perr)
			}
			return
		}
		repeated := false
		for _, k := range fields {
			repeated = repeated || len(form[k]) > 1
		}
		_, amountErr := payhook.ParseAmount(form.Get("amount"))
		wantErr := repeated || form.Get("amount") != "" && amountErr != nil
		if wantErr != (err != nil) {
			t.Fatalf("%q: error %v, want one: %t", body, err, wantErr)
		}
		if err != nil {
			if !errors.Is(err, payhook.ErrMalformed) {
				t.Fatalf("%q: %v is not ErrMalformed", body, err)
			}
			return
		}
		got := map[string]string{"order_id": string(w.OrderID), "id": string(w.ID), "secret": w.Secret,
			"amount": w.Amount.String(), "ref": string(w.Ref), "status": w.Status, "currency": w.Currency}
		for _, k := range fields {
			if got[k] != form.Get(k) {
				t.Fatalf("%q: %s is %q, net/url reads %q", body, k, got[k], form.Get(k))
			}
		}
	})
}

// FuzzDecodeLink checks that no answer panics the decoder, and that a link
// it returns is an absolute http(s) URL.
func FuzzDecodeLink(f *testing.F) {
	for _, s := range []string{
		`{"url":"https://k.example/p","order_id":"1"}`, `{"data":{"paymentLink":"https://k.example/p","id":2}}`,
		`{"error":{"message":"m","details":{"key":"K"}}}`, `{"success":false,"error":"e"}`, `<html>`, ``, `{"data":"x"}`,
	} {
		f.Add(200, []byte(s))
		f.Add(400, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		l, err := decodeLink(status, body)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error text")
			}
			return
		}
		u, perr := url.Parse(l.URL)
		if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || status < 200 || status > 299 {
			t.Fatalf("accepted link %q from %d", l.URL, status)
		}
		if strings.ContainsAny(l.OrderID, "{[") && !json.Valid(body) {
			t.Fatalf("order id %q from a body that is not JSON", l.OrderID)
		}
	})
}

// FuzzDecodeFlat: the fast path of the JSON decoder never reads a body
// differently from the general one (encoding/json through jsonx.Unmarshal,
// which refuses duplicate and case-folded keys). Whenever it takes a body,
// the general path takes it too, with the same fields.
func FuzzDecodeFlat(f *testing.F) {
	for _, s := range []string{
		`{"order_id":"ord_1","secret":"c2lnbg==","amount":"10.00","ref":"r","status":"fulfilled","currency":"USD"}`,
		`{"id":42,"amount":10.5,"secret":"x"}`,
		`{"order_id":"a","Order_id":"b"}`,
		`{"order_id":"a","order_id":"b"}`,
		`{"ORDER_ID":"a"}`,
		`{"order_id":null,"amount":null,"secret":null}`,
		`{"secret":5}`,
		`{"amount":"1e3","other":true,"x":[1]}`,
		`{"order_id":"\u006frd","secret":"a\/b"}`,
		` { "order_id" : "o" , "amount" : -0.5e-3 } `,
		`{"amount":01}`,
		`{}`,
		`{"a":"b"}x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast, general wire
		if !fast.decodeFlat(body) {
			return
		}
		if err := jsonx.Unmarshal(body, &general); err != nil {
			t.Fatalf("the fast path took %q, which the general path refuses: %v", body, err)
		}
		if fast != general {
			t.Fatalf("%q read as %+v by the fast path, %+v by the general one", body, fast, general)
		}
	})
}

// The fast path is the one Kazawallet's real bodies take.
func TestDecodeFlatTakesKazawalletsBody(t *testing.T) {
	var w wire
	body := `{"order_id":"ord_123","secret":"+Xjzsd0+6N06AHXYBkMniJotjxzCAMq4GnUsYWFLwfUiDfQn3Ts/kuBOs/+xRxUwn/aL8p3+xF/XOABLWaW3WA==","amount":"10","ref":"r","status":"fulfilled","currency":"USD"}`
	if !w.decodeFlat([]byte(body)) {
		t.Fatal("the fast path refused Kazawallet's body")
	}
	if w.OrderID != "ord_123" || w.Amount.String() != "10" || w.Status != "fulfilled" || w.Currency != "USD" || w.Ref != "r" {
		t.Fatalf("read %+v", w)
	}
}
