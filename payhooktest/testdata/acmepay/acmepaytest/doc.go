// Package acmepaytest tests code that receives AcmePay webhooks, in the
// spirit of net/http/httptest: [Sender] is acmepay.Sender for tests, which
// builds AcmePay's webhook for a typed acmepay.Event, signed as AcmePay
// signs it, or forged; its Policy is AcmePay's retries, for deliver.Send.
// AcmePay has no API to fake. It is safe for concurrent use; nothing here
// belongs in production code.
package acmepaytest
