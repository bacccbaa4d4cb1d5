#!/usr/bin/env python3
"""Writes coinbase.json, the signature ground truth for Coinbase Commerce webhooks.

Run it from this folder: `python3 coinbase.py`. Python 3.11 standard library only, so every
signature is computed independently of the Rust code under test. The published vector from
Coinbase Commerce's Node SDK tests is copied verbatim and checked against the recipe below.
"""

import base64
import hashlib
import hmac

from _conformance import REJECTED, Cases, ok, write

PROVIDER = "coinbase"
SDK = "coinbase/coinbase-commerce-node"

SPEC = {
    "source": f"{SDK}: lib/Webhook.js (verifySigHeader, computeSignature); README 'Webhooks'",
    "signature_header": "x-cc-webhook-signature",
    "layout": "<hex> (the whole header value, no prefix)",
    "algorithm": "hmac-sha256",
    "encoding": "hex (lowercase; the SDK compares the hex text with secure-compare)",
    "signed_content": "{body}",
    "timestamp": "none in a header; the signed body carries scheduled_for and "
                 "event.created_at (ISO 8601), but the SDK checks no age",
    "tolerance_seconds": None,
    "event_id": "body: event.id (the top-level body id identifies the delivery; 1 in the SDK test)",
    "event_type": "body: event.type",
    "key_form": "raw secret text (the webhook shared secret from the dashboard's Settings, "
                "UUID-shaped in the SDK test), used as its UTF-8 bytes",
    "needs_url": False,
    "notes": (
        "Coinbase Commerce (commerce.coinbase.com) only; the Node SDK's last commit is from "
        "June 2021, and Coinbase's other webhook products (CDP, Onramp) use other schemes, "
        "which this file does not cover. verifyEventBody parses the JSON first and requires an "
        "`event` member before it checks the signature; the signature covers the raw body "
        "bytes as sent. The PHP SDK example reads the body with trim(file_get_contents("
        "'php://input')), which only works because Coinbase sends no surrounding whitespace; "
        "verify the bytes as received. No replay protection: dedupe on event.id."
    ),
}

cases = Cases(PROVIDER)


def tag(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def hdr(value):
    return [("x-cc-webhook-signature", value)]


# Published vector: coinbase-commerce-node test/testWebhook.spec.js (copied verbatim).
PUB_SRC = f"{SDK}, test/testWebhook.spec.js"
SECRET = "30291a20-0bd1-4267-9b0f-e6e7b123c0bf"
INVALID_SECRET = "30291a20-0bd1-4267-9b0f-e6e7b123c0bg"
BODY = (b'{"id":1,"scheduled_for":"2017-01-31T20:50:02Z","attempt_number":1,"event":{"id":"24934'
        b'862-d980-46cb-9402-43c81b0cdba6","type":"charge:created","api_version":"2018-03-22",'
        b'"created_at":"2017-01-31T20:49:02Z","data":{"code":"66BEOV2A","name":"The Sovereign '
        b'Individual","description":"Mastering the Transition to the Information Age",'
        b'"hosted_url":"https://commerce.coinbase.com/charges/66BEOV2A","created_at":"2017-01-'
        b'31T20:49:02Z","expires_at":"2017-01-31T21:04:02Z","timeline":[{"time":"2017-01-31T20:'
        b'49:02Z","status":"NEW"}],"metadata":{},"pricing_type":"no_price","payments":[],'
        b'"addresses":{"bitcoin":"0000000000000000000000000000000000","ethereum":"0x00000000000'
        b'00000000000000000000000000000","litecoin":"3000000000000000000000000000000000",'
        b'"bitcoincash":"bitcoincash:000000000000000000000000000000000000000000"}}}}')
SIG = "8be7742c7d372f08a6a3224edadf18a22b65fa9e28f3f2de97376cdaa092590d"
RAW = tag(SECRET, BODY)
assert RAW.hex() == SIG
EVENT_ID = "24934862-d980-46cb-9402-43c81b0cdba6"
NOW = 1485895802  # 2017-01-31T20:50:02Z, the delivery's scheduled_for

cases.add("published SDK vector", hdr(SIG), BODY, NOW, ok("k1", event_id=EVENT_ID),
          secrets=[("k1", SECRET)],
          source=PUB_SRC + ", 'should successfully verify signature and return event'")
cases.add("two keys, the second matches", hdr(SIG), BODY, NOW, ok("k2", event_id=EVENT_ID),
          secrets=[("k1", INVALID_SECRET), ("k2", SECRET)], source=PUB_SRC)
cases.add("wrong key (the SDK test's invalid secret)", hdr(SIG), BODY, NOW, REJECTED,
          secrets=[("k1", INVALID_SECRET)],
          source=PUB_SRC + ", 'should fail verification with invalid secret key'")
cases.add("tampered body", hdr(SIG), BODY.replace(b'"status":"NEW"', b'"status":"COMPLETED"'), NOW,
          REJECTED, secrets=[("k1", SECRET)], source=PUB_SRC)
cases.add("body with a trailing newline", hdr(SIG), BODY + b"\n", NOW, REJECTED,
          secrets=[("k1", SECRET)], source=PUB_SRC)
cases.add("base64 where hex is expected", hdr(base64.b64encode(RAW).decode()), BODY, NOW, REJECTED,
          secrets=[("k1", SECRET)], source=PUB_SRC)
cases.add("truncated signature", hdr(SIG[:-2]), BODY, NOW, REJECTED, secrets=[("k1", SECRET)],
          source=PUB_SRC)
cases.add("sha256= prefix is not part of the format", hdr("sha256=" + SIG), BODY, NOW, REJECTED,
          secrets=[("k1", SECRET)], source=PUB_SRC)
cases.add("no signature header", [], BODY, NOW, REJECTED, secrets=[("k1", SECRET)])

# A computed charge:confirmed delivery, to exercise a second body and key.
SECRET2 = "b7c1e0f2-6a3d-4e59-8f14-2d9c0a7e5b31"
BODY2 = (b'{"attempt_number":1,"event":{"api_version":"2018-03-22","created_at":"2023-11-14T22:13'
         b':19Z","data":{"code":"QFRTHB5C","id":"f765421f-2c4b-4c38-a0a7-2a6dbd4f4b5e","metadata":'
         b'{"order_id":"A-1009"},"pricing_type":"fixed_price"},"id":"1b0b1a4e-9f0d-4bf6-b5b1-'
         b'a7a5d8c0e0f3","resource":"event","type":"charge:confirmed"},"id":"8d9c4ba4-6df2-4c4e'
         b'-bc6e-7e0c1c5fb0a1","scheduled_for":"2023-11-14T22:13:20Z"}')
SIG2 = tag(SECRET2, BODY2).hex()
cases.add("computed charge:confirmed", hdr(SIG2), BODY2, 1700000001,
          ok("k1", event_id="1b0b1a4e-9f0d-4bf6-b5b1-a7a5d8c0e0f3"), secrets=[("k1", SECRET2)],
          source="computed here: hmac-sha256(secret, body).hexdigest(), the recipe that reproduces "
                 "the published SDK vector")

write(__file__, PROVIDER, SPEC, cases)
