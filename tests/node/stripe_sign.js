// Signs a Stripe webhook payload as Stripe does, with Stripe's official library (the `stripe`
// npm package), for the e2e tests: our verifier is checked against it, never against our own
// signer. Usage: node stripe_sign.js PAYLOAD_FILE SECRET TIMESTAMP  -> prints the
// Stripe-Signature header value.
const fs = require('fs');
const Stripe = require('stripe');

const [payloadFile, secret, timestamp] = process.argv.slice(2);
const stripe = new Stripe('sk_test_unused');
process.stdout.write(stripe.webhooks.generateTestHeaderString({
  payload: fs.readFileSync(payloadFile, 'utf8'),
  secret,
  timestamp: Number(timestamp),
}));
