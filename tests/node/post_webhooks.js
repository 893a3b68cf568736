// Posts Twilio webhooks to a running tollgated the way Twilio does: bodies form-encoded by
// URLSearchParams (spaces as '+'), every one signed by Twilio's official helper library, never
// by Tollgate's own signer. tests/e2e/twilio_library_test.cpp starts the daemon and runs this.
//
//   node post_webhooks.js PORT AUTH_TOKEN PUBLIC_BASE_URL GATEWAY_NUMBER
// Prints one line per check; exits 1 on the first failed check.
'use strict';
const http = require('http');
const twilio = require('twilio');

const [port, token, base, number] = process.argv.slice(2);
const account = 'ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';

function post(path, params, signWith = token) {
  const body = new URLSearchParams(params).toString();
  const signature = twilio.getExpectedTwilioSignature(signWith, base + path, params);
  if (!twilio.validateRequest(signWith, signature, base + path, params)) {
    throw new Error('the helper library does not validate its own signature');
  }
  return new Promise((resolve, reject) => {
    const req = http.request({host: '127.0.0.1', port, path, method: 'POST', headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      'Content-Length': Buffer.byteLength(body),
      'X-Twilio-Signature': signature,
    }}, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({status: res.statusCode, body: data, sent: body}));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// The parameters Twilio posts for an inbound SMS and an inbound call, as its docs list them.
function sms(sid, from, body) {
  return {
    ToCountry: 'US', ToState: 'CA', SmsMessageSid: sid, NumMedia: '0', ToCity: 'SAN FRANCISCO',
    FromZip: '94105', SmsSid: sid, FromState: 'CA', SmsStatus: 'received',
    FromCity: 'SAN FRANCISCO', Body: body, FromCountry: 'US', To: number, ToZip: '94107',
    NumSegments: '1', MessagingServiceSid: 'MG00000000000000000000000000000001',
    ReferralNumMedia: '0', MessageSid: sid, AccountSid: account, From: from,
    ApiVersion: '2010-04-01',
  };
}

function voice(sid, from, status) {
  return {
    AccountSid: account, ApiVersion: '2010-04-01', CallSid: sid, CallStatus: status,
    Called: number, CalledCity: 'SAN FRANCISCO', CalledCountry: 'US', CalledState: 'CA',
    CalledZip: '94107', Caller: from, CallerCity: 'SOUTH SAN FRANCISCO',
    CallerName: 'JOHN Q PUBLIC', CallerCountry: 'US', CallerState: 'CA', CallerZip: '94080',
    Direction: 'inbound', From: from, FromCity: 'SOUTH SAN FRANCISCO', FromCountry: 'US',
    FromState: 'CA', FromZip: '94080', To: number, ToCity: 'SAN FRANCISCO', ToCountry: 'US',
    ToState: 'CA', ToZip: '94107',
  };
}

function check(what, ok, detail) {
  if (!ok) {
    console.log(`FAIL ${what}: ${detail}`);
    process.exit(1);
  }
  console.log(`ok ${what}`);
}

// The reply test-sms sends ("pong " + body), XML-escaped as the TwiML builder writes it.
function escaped(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

(async () => {
  const bodies = [
    'Hello there, how are you?',
    'a+b c%20d = e & f',
    'caf\u00e9 \u2713 \ud83d\ude00 <b>',
    '  leading and trailing  ',
  ];
  let n = 0;
  for (const body of bodies) {
    const sid = `SM${String(++n).padStart(32, '0')}`;
    const r = await post('/twilio/sms', sms(sid, '+14155550111', body));
    check(`sms ${JSON.stringify(body)} sent as ${r.sent.substr(r.sent.indexOf('Body='), 48)}`,
          r.status === 200 && r.body.includes(`<Message>pong ${escaped(body)}</Message>`),
          `${r.status} ${r.body}`);
  }
  let r = await post('/twilio/sms', sms('SM' + 'f'.repeat(32), '+14155550111', 'x y'));
  check('spaces went out as +', r.status === 200 && r.sent.includes('Body=x+y'), r.sent);

  const call = 'CA' + '1'.repeat(32);
  r = await post('/twilio/voice', voice(call, '+14155550122', 'ringing'));
  check('inbound call with CallerName and CallerCity', r.status === 200 && r.body.includes('<Say>hello'),
        `${r.status} ${r.body}`);
  // A follow-up: the signed URL carries a query string, the form a multi-word SpeechResult.
  r = await post('/twilio/voice/next?step=menu',
                 {...voice(call, '+14155550122', 'in-progress'), SpeechResult: 'talk to sales please',
                  Confidence: '0.91'});
  check('gather follow-up with a query string and SpeechResult', r.status === 200 && r.body.includes('<Say>hello'),
        `${r.status} ${r.body}`);
  r = await post('/twilio/voice/status', {...voice(call, '+14155550122', 'completed'), CallDuration: '42'});
  check('call status callback', r.status === 204, `${r.status} ${r.body}`);

  r = await post('/twilio/sms', sms('SM' + 'e'.repeat(32), '+14155550111', 'forged'), 'not-the-token-0123456789abcdef01');
  check('a body signed with another token is refused', r.status === 403, `${r.status} ${r.body}`);
})().catch((e) => {
  console.log(`FAIL ${e.stack}`);
  process.exit(1);
});
