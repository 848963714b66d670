<?php
// Kazawallet's webhook verification code, copied verbatim from its
// documentation (shared/seeds/000_ec17fe69cf54016b.txt, "PHP Example"),
// except that the four inputs come from stdin instead of placeholders:
// one JSON object per line, {"amount", "order_id", "api_key", "api_secret"}.
// For each line it prints the base64 secret, one per line.
//
// Run: php seed.php < inputs.jsonl
while (($line = fgets(STDIN)) !== false) {
    $in = json_decode($line, true);
    if ($in === null) { continue; }

$amount = $in['amount']; // Replace with the actual amount
$order_id = $in['order_id']; // Replace with the actual payment link ID
$kazawalletApiKey = $in['api_key']; // Replace with the actual kazawallet API key
$kazawalletApiSecret = $in['api_secret']; // Replace with the actual kazawallet API secret

// Create the secret string by concatenating the amount, order_id, and kazawalletApiKey
$secretString = $amount . ':::' . $order_id . ':::' . $kazawalletApiKey;

// Generate a SHA-256 hash of the secret string
$hashDigest = hash('sha256', $secretString, true);

// Generate an HMAC-SHA512 hash of the SHA-256 hash using the kazawalletApiSecret
$hmacDigest = hash_hmac('sha512', $hashDigest, $kazawalletApiSecret, true);

// Encode the HMAC-SHA512 hash in Base64
$hmacDigestBase64 = base64_encode($hmacDigest);

// Output the Base64-encoded HMAC-SHA512 signature
echo $hmacDigestBase64;

    echo "\n";
}
