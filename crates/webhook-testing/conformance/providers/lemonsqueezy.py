#!/usr/bin/env python3
"""Writes lemonsqueezy.json, the signature ground truth for Lemon Squeezy webhooks.

Run it from this folder: `python3 lemonsqueezy.py`. Python 3.11 standard library only, so
every signature is computed independently of the Rust code under test. Lemon Squeezy
publishes no fixed vector (neither its docs nor its Laravel package tests), so the cases are
computed with the recipe of the official Laravel package.
"""

import base64
import hashlib
import hmac

from _conformance import REJECTED, Cases, ok, write

PROVIDER = "lemonsqueezy"

SPEC = {
    "source": ("lmsqueezy/laravel: src/Http/Middleware/VerifyWebhookSignature.php "
               "(hash_hmac('sha256', $payload, signing_secret) compared with hash_equals to "
               "the x-signature header); docs https://docs.lemonsqueezy.com/help/webhooks/"
               "signing-requests"),
    "signature_header": "x-signature",
    "layout": "<hex> (the whole header value, no prefix)",
    "algorithm": "hmac-sha256",
    "encoding": "hex (lowercase; hash_equals compares the hex text)",
    "signed_content": "{body}",
    "timestamp": "none",
    "tolerance_seconds": None,
    "event_id": "none (no delivery id; data.type + data.id name the resource, not the "
                "delivery)",
    "event_type": "header x-event-name; also body: meta.event_name",
    "key_form": "raw secret text chosen by the merchant when creating the webhook (docs: "
                "usually 6 to 40 characters), used as its UTF-8 bytes",
    "needs_url": False,
    "notes": (
        "The official JS SDK (lmsqueezy/lemonsqueezy.js) has no verification helper; the "
        "Laravel package is the official code that verifies. It reads the raw body with "
        "$request->getContent(). No timestamp and no delivery id, so replay protection and "
        "deduplication need the body (e.g. meta.event_name + data.id + data.attributes."
        "updated_at). No docs/SDK disagreement found."
    ),
}

cases = Cases(PROVIDER)


def tag(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def hdr(sig):
    return [("x-event-name", "order_created"), ("x-signature", sig)]


SECRET = "lsq-signing-secret-8Hq2v"
OTHER = "another-signing-secret"
# Shape of the docs' example payload (https://docs.lemonsqueezy.com/api/webhooks), compact.
BODY = (b'{"meta":{"test_mode":true,"event_name":"order_created","custom_data":{"customer_id":'
        b'25}},"data":{"type":"orders","id":"1","attributes":{"store_id":1,"identifier":'
        b'"636f855c-1fb9-4c07-b75c-3a10afef010a","order_number":1,"user_name":"Darlene '
        b'Daugherty","user_email":"gernser@yahoo.com","currency":"USD","subtotal":999,'
        b'"total":1199,"status":"paid","created_at":"2021-08-17T09:45:53.000000Z",'
        b'"updated_at":"2021-08-17T09:45:53.000000Z"}}}')
RAW = tag(SECRET, BODY)
SIG = RAW.hex()
NOW = 1700000000
SRC = ("computed here with the Laravel package's recipe: hmac-sha256(secret, body)"
       ".hexdigest()")

cases.add("computed order_created", hdr(SIG), BODY, NOW, ok("k1"), secrets=[("k1", SECRET)],
          source=SRC)
cases.add("two keys, the second matches", hdr(SIG), BODY, NOW, ok("k2"),
          secrets=[("k1", OTHER), ("k2", SECRET)], source=SRC)
cases.add("tampered body", hdr(SIG), BODY.replace(b'"total":1199', b'"total":1'), NOW, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("wrong key", hdr(SIG), BODY, NOW, REJECTED, secrets=[("k1", OTHER)])
cases.add("base64 where hex is expected", hdr(base64.b64encode(RAW).decode()), BODY, NOW, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("truncated signature", hdr(SIG[:-2]), BODY, NOW, REJECTED, secrets=[("k1", SECRET)])
cases.add("sha256= prefix is not part of the format", hdr("sha256=" + SIG), BODY, NOW, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("empty signature", hdr(""), BODY, NOW, REJECTED, secrets=[("k1", SECRET)])
cases.add("no signature header", [("x-event-name", "order_created")], BODY, NOW, REJECTED,
          secrets=[("k1", SECRET)])

write(__file__, PROVIDER, SPEC, cases)
