// Twilio's own segment calculator (sms-segments-calculator, by TwilioDevEd), as an independent
// peer for messaging::countSegments: reads a JSON array of message bodies from the file named
// by argv[2], prints a JSON array of {encoding: "GSM-7"|"UCS-2", segments: N}, one per body.
const fs = require("fs");
const { SegmentedMessage } = require("sms-segments-calculator");

const bodies = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const out = bodies.map((body) => {
  const m = new SegmentedMessage(body, "auto");
  return { encoding: m.encodingName, segments: m.segmentsCount };
});
process.stdout.write(JSON.stringify(out));
