#!/usr/bin/env python3
"""Writes the seeds of the targets that split their input with FuzzedDataProvider (signature,
twiml, template), in its layout: strings from the front, each ended by a backslash and one
other byte (a backslash in the text is doubled); integers and bools from the back, one byte each
for the small ranges used here. Run from this folder; the other targets' seeds are plain files."""
import hashlib
import pathlib


class Seed:
    def __init__(self):
        self.front = b""
        self.back = []  # in the order the target consumes them

    def s(self, text):
        data = text.encode() if isinstance(text, str) else text
        self.front += data.replace(b"\\", b"\\\\") + b"\\ "
        return self

    def i(self, *values):  # one byte per value; the target reduces it modulo its range
        self.back.extend(values)
        return self

    def rest(self, text):
        self.tail = text.encode() if isinstance(text, str) else text
        return self

    def bytes(self):
        return self.front + getattr(self, "tail", b"") + bytes(reversed(self.back))


def write(target, name, seed):
    path = pathlib.Path(target)
    path.mkdir(exist_ok=True)
    (path / name).write_bytes(seed.bytes())


SMS = [("ToCountry", "US"), ("ToState", "CA"), ("SmsMessageSid", "SM1f0e2c8a7b3d4e5f"),
       ("NumMedia", "0"), ("FromCity", "SAN FRANCISCO"), ("Body", "Hello world! +1 & =?"),
       ("To", "+14155550100"), ("From", "+14155550199")]
WA = [("ProfileName", "Renée 😀"), ("WaId", "34600111222"), ("To", "whatsapp:+14155550100"),
      ("From", "whatsapp:+34600111222"), ("Body", "Hola, ¿qué tal?"), ("Body", "Hola, ¿qué tal?")]


def signature(name, token, target, host, trusted, peer_pick, proto, fhost, base, params, body,
              sig="", raw_url=""):
    seed = Seed().s(token).s(target).s(host).i(len(trusted))
    for t in trusted:
        seed.s(t)
    if trusted:
        seed.i(1 if peer_pick is not None else 0)
        if peer_pick is not None and len(trusted) > 1:
            seed.i(peer_pick)
    if not trusted or peer_pick is None:
        seed.s("203.0.113.9")
    kinds = {"": 0, "http": 1, "https": 2}
    seed.i(kinds.get(proto, 3))
    if proto not in kinds:
        seed.s(proto)
    seed.s(fhost).i(1 if base else 0)
    if base:
        seed.s(base)
    seed.i(len(params))
    for k, v in params:
        seed.s(k).s(v)
    seed.i(len(params) - 1 if params else 0, 3, 0x20)  # which value, which byte, xor
    seed.s(body).i(0, 1)
    seed.s(sig).rest(raw_url)
    write("signature", name, seed)


signature("sms_behind_proxy", "12345", "/webhooks/sms?tenant=acme", "10.0.0.5:8080",
          ["127.0.0.1"], 0, "https", "gw.example.com", "", SMS, "")
signature("whatsapp_public_base", "0123456789abcdef0123456789abcdef", "/webhooks/sms",
          "gw.example.com", ["10.0.0.1", "10.0.0.2"], None, "https", "evil.example", 
          "https://gw.example.com:8443", WA, "")
signature("json_body", "12345", "/webhooks/status", "gw.example.com", [], None, "", "",
          "https://mycompany.com", [], '{"property": "value", "boolean": true}',
          "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
          "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe94"
          "16e41502b283a80c7cf19632632f96e6620")
signature("odd_proto_ipv6", "tok", "/v?x=%zz#frag", "[::1]:443", ["::1"], 0, "HTTPS",
          "h", "", [("Digits", "1234"), ("Digits", "1234"), ("Digits", "5678")], "",
          "", "https://user:pa:ss@[::1]:/p")

# twiml: verb count, then per verb a kind (0 Say, 1 Message, 2 Gather+Say, 3 custom element).
write("twiml", "say_and_message", Seed().i(2)
      .i(0).s("Polly.Joanna").s("en-US").i(3).s('Thank you for calling <Acme> & "Sons".')
      .i(1).s("Réponse: café ✓ 😀 — ]]> </Message><Redirect>http://evil</Redirect>"))
write("twiml", "gather_unicode", Seed().i(1)
      .i(2).s("sales, support, ünïcødé").s("menu & more").s("Press 1.\r\nOr say \tsales."))
write("twiml", "illformed_utf8_controls", Seed().i(2)
      .i(1).s(b"bad \xed\xa0\x80 \xc0\xaf \xe0\x80 \xf4\x90\x80\x80 \xef\xbf\xbe \xf0\x9f\x98 x\x01\x1f\x7f")
      .i(3).s("Stream").s("url").s(b"wss://x/\x00?a=\"b\"&c='d'\t\n\r").s("")
      .rest(b"\xe2\x82 rest"))
write("twiml", "bad_names", Seed().i(2)
      .i(3).s("1Say").s("voice").s("v").s("t")
      .i(3).s("tg:Custom").s("data-x.y").s("v").s("t"))

# template: variable count, per variable (pick a known name?, index or name, value, prefix?).
KNOWN = {"body": 0, "tenant": 1, "from": 2, "to": 3, "keyword": 4, "x": 5}


def template(name, variables, tpl):
    seed = Seed().i(len(variables))
    for var, value, looks_like_template in variables:
        if var in KNOWN:
            seed.i(1, KNOWN[var])
        else:
            seed.i(0).s(var)
        seed.s(value).i(1 if looks_like_template else 0)
    write("template", name, seed.rest(tpl))


template("reply", [("tenant", "Acme", False), ("body", "{{tenant}} says {{x}}", False)],
         "Hi from {{tenant}}, you said {{ body }}")
template("value_is_a_template", [("x", "", True), ("from", "+14155550199", False)],
         "{{x}}{{ x }}{{from}}")
template("unknown_and_open", [], "Reply STOP to opt out. {{unknown}} {{")
template("nested_braces", [("a", "1", False), ("b", "{{a}}", True)], "{{a {{b}} }}}} {{{x}}}")
template("unicode", [("from", "Renée 😀", False)], "Thanks {{from}}! Ünïcødé ✓")
