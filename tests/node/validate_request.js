// Checks one X-Twilio-Signature with Twilio's official helper library, never with Tollgate's own
// validator. tests/sim/twilio_sim_test.cpp runs it on a callback tollgate-twilio-sim posted.
//
//   node validate_request.js AUTH_TOKEN SIGNATURE URL PARAMS_JSON
// Prints "valid" and exits 0, or prints "invalid" and exits 1.
'use strict';
const twilio = require('twilio');

const [token, signature, url, paramsJson] = process.argv.slice(2);
const valid = twilio.validateRequest(token, signature, url, JSON.parse(paramsJson));
console.log(valid ? 'valid' : 'invalid');
process.exit(valid ? 0 : 1);
