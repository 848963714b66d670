// Package sandbox plays Kazawallet, KKiaPay and KasperoPay on one local
// address, for payhook sandbox: their APIs as the providers answer them,
// checkout pages where a developer pays a payment or makes it fail, and the
// webhooks that follow, delivered to the merchant's URLs as each provider
// delivers them, every attempt recorded with the merchant's answer.
//
// On its address a [Sandbox] serves:
//
//	POST /wallet/createPaymentLink       Kazawallet's API (x-api-key); the link is a checkout page here
//	POST /api/v1/transactions/status     KKiaPay's status API (x-api-key, x-private-key, x-secret-key)
//	POST /api/v1/transactions/revert     KKiaPay's refunds: the transaction is REVERTED from then on
//	GET  /pay/status/{payment_id}        KasperoPay's status API (no credentials)
//	GET  /                               forms that start a payment of each provider
//	GET  /checkout/{provider}/{id}       a payment's checkout page: Pay, Let it time out, Succeed, Fail...
//	GET  /payments                       every payment, every delivery and every attempt, with the answer
//	POST /deliveries/{n}/resend          delivery n again, as its provider delivers
//
// so that the provider clients (kazawallet.Client, kkiapay.Client,
// kasperopay.Client) and payhook serve's confirmations work against it by
// their base URL alone.
//
// Webhooks are built by payhook's webhook builders, signed with the
// merchant's credentials as the provider signs them, and delivered with the
// provider's policy: Kazawallet and KasperoPay once, KKiaPay again after any
// answer that is not 2xx, up to 5 times, 500 ms more each time. The status
// APIs answer what the webhooks said, from the moment the checkout button
// is pressed, so that a confirmation made while handling the webhook agrees
// with it.
//
// The pages are server-rendered HTML (html/template) that work without
// JavaScript. They never show a secret or a signature: the requests they
// show have those values cut out.
//
// State lives in memory, behind one mutex, and is lost when the process
// ends: it is a sandbox.
package sandbox
