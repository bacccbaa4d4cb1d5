#!/usr/bin/env python3
"""Writes meta.json: Meta's (Facebook, Instagram, WhatsApp) webhook signature and cases.

Run it from anywhere: `python3 meta.py`. Python 3.11 standard library only. Meta
publishes no vector with its key, so every signature is computed here, independently
of the Rust code under test, with the recipe of Meta's WhatsApp Node.js SDK.
"""

import base64
import hashlib
import hmac
import json

from _conformance import REJECTED, Cases, ok, write

PROVIDER = "meta"
cases = Cases(PROVIDER)


# --- The recipe ----------------------------------------------------------------------


def tag(secret: str, body: str, digest=hashlib.sha256) -> bytes:
    """HMAC over the raw body with the app secret (WhatsApp-Nodejs-SDK src/utils.ts)."""
    return hmac.new(secret.encode(), body.encode(), digest).digest()


def sign(secret: str, body: str) -> str:
    return "sha256=" + tag(secret, body).hex()


def headers(*pairs):
    return list(pairs) + [("content-type", "application/json")]


SDK = "WhatsApp/WhatsApp-Nodejs-SDK: src/utils.ts (generateXHub256Sig), src/api/webhooks.ts"
T0 = 1_700_000_000
APP_SECRET = "0123456789abcdef0123456789abcdef"
K1 = [("k1", APP_SECRET)]
BODY = ('{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{'
        '"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881",'
        '"phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},'
        '"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0M'
        'zkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1699999990","text":{"body":"Does '
        'it come in another color?"},"type":"text"}]},"field":"messages"}]}]}')
SIG = sign(APP_SECRET, BODY)
# Meta signs the payload as sent: non-ASCII text arrives as \\uXXXX escapes with lower-case
# hex digits, and the signature covers those escapes, not the decoded characters.
ESCAPED = ('{"object":"page","entry":[{"id":"1234567890","time":1699999995,"messaging":[{'
           '"sender":{"id":"24"},"recipient":{"id":"1234567890"},"timestamp":1699999994,'
           '"message":{"mid":"m_abc","text":"\\u00e4\\u00f6\\u00e5 \\ud83d\\ude00"}}]}]}')
assert "\\u00e4" in ESCAPED and json.loads(ESCAPED)["entry"][0]["messaging"][0]["message"][
    "text"] == "äöå 😀"
DECODED = ESCAPED.replace("\\u00e4\\u00f6\\u00e5 \\ud83d\\ude00", "äöå 😀")

cases.add("a WhatsApp message notification", headers(("x-hub-signature-256", SIG)), BODY, T0,
          ok("k1"), secrets=K1, source=SDK)
cases.add("escaped Unicode is signed as sent", headers(("x-hub-signature-256",
          sign(APP_SECRET, ESCAPED))), ESCAPED, T0, ok("k1"), secrets=K1, source=SDK)
cases.add("the same text with the escapes decoded is another body",
          headers(("x-hub-signature-256", sign(APP_SECRET, ESCAPED))), DECODED, T0, REJECTED,
          secrets=K1, source=SDK)
cases.add("both headers sent, the SHA-256 one verifies", headers(
          ("x-hub-signature", "sha1=" + tag(APP_SECRET, BODY, hashlib.sha1).hex()),
          ("x-hub-signature-256", SIG)), BODY, T0, ok("k1"), secrets=K1, source=SDK)
cases.add("rotation: the second app secret matches", headers(("x-hub-signature-256", SIG)), BODY,
          T0, ok("k2"), secrets=[("k1", "fedcba9876543210fedcba9876543210"), ("k2", APP_SECRET)],
          source=SDK)
cases.add("tampered body", headers(("x-hub-signature-256", SIG)),
          BODY.replace("another color", "other colour"), T0, REJECTED, secrets=K1, source=SDK)
cases.add("wrong key", headers(("x-hub-signature-256", SIG)), BODY, T0, REJECTED,
          secrets=[("k1", "fedcba9876543210fedcba9876543210")], source=SDK)
cases.add("base64 where hex is expected", headers(("x-hub-signature-256",
          "sha256=" + base64.b64encode(tag(APP_SECRET, BODY)).decode())), BODY, T0, REJECTED,
          secrets=K1, source=SDK)
cases.add("truncated signature", headers(("x-hub-signature-256", SIG[:-2])), BODY, T0, REJECTED,
          secrets=K1, source=SDK)
cases.add("only the legacy SHA-1 header", headers(
          ("x-hub-signature", "sha1=" + tag(APP_SECRET, BODY, hashlib.sha1).hex())), BODY, T0,
          REJECTED, secrets=K1, source=SDK)
cases.add("sha1= prefix in the SHA-256 header", headers(("x-hub-signature-256",
          "sha1=" + tag(APP_SECRET, BODY).hex())), BODY, T0, REJECTED, secrets=K1, source=SDK)
cases.add("no signature header", headers(), BODY, T0, REJECTED, secrets=K1)

write(__file__, PROVIDER, {
    "source": ("WhatsApp/WhatsApp-Nodejs-SDK: src/utils.ts (generateXHub256Sig), "
               "src/api/webhooks.ts (POST and GET handling); fbsamples/graph-api-webhooks-"
               "samples: heroku/index.js (Meta's sample app, legacy X-Hub-Signature sha1)"),
    "signature_header": "x-hub-signature-256",
    "layout": "sha256=<hex>",
    "algorithm": "hmac-sha256",
    "encoding": "hex",
    "signed_content": "{body}",
    "timestamp": "none signed (body: entry[].time, Unix seconds, for most objects)",
    "tolerance_seconds": None,
    "event_id": ("none per delivery (body: entry[].id is the object; WhatsApp "
                 "entry[].changes[].value.messages[].id / statuses[].id; Messenger "
                 "messaging[].message.mid)"),
    "event_type": "body: object, then entry[].changes[].field (or messaging[] for Messenger)",
    "key_form": "raw App Secret text of the Meta app (32 hex characters)",
    "needs_url": False,
    "handshake": (
        "GET {callback}?hub.mode=subscribe&hub.verify_token=<token>&hub.challenge=<n>: when "
        "hub.verify_token equals the verify token the developer typed in the App Dashboard "
        "(a separate string, not the App Secret), answer 200 with hub.challenge as the body; "
        "otherwise refuse (Meta's sample app answers 400, the WhatsApp SDK 401)."),
    "notes": (
        "Deliveries also carry the legacy x-hub-signature: sha1=<hex HMAC-SHA1 of the body> "
        "(Meta's graph-api-webhooks-samples still verify only that one, via express-x-hub). "
        "Meta's Graph API webhook docs say the signature is computed over the escaped-Unicode "
        "payload (\\uXXXX, lower-case hex); that sentence is recalled, not found in the stored "
        "excerpts. Either way verifying the raw bytes as received is right; re-serialising parsed "
        "JSON is not. The WhatsApp SDK strips the prefix with .replace('sha256=', '') and "
        "compares lower-case hex with == (not constant time), so it would also accept a bare "
        "hex value; no case encodes that leniency. No timestamp is signed: replays are only "
        "caught by de-duplicating ids from the body. Instagram, Messenger, Page and WhatsApp "
        "webhooks share this scheme and the app's secret."),
}, cases)
