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
import json
import os
import re

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

CASES = []


def tag(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


REJECTED = {"outcome": "rejected"}


def case(name, secrets, headers, body, now, expect, source=None):
    entry = {"name": f"{PROVIDER}: {name}"}
    if source:
        entry["source"] = source
    entry["secrets"] = [{"key_id": k, "secret": s} for k, s in secrets]
    entry["headers"] = [[n, v] for n, v in headers]
    entry["body"] = body.decode("utf-8")
    entry["now"] = now
    entry["expect"] = expect
    CASES.append(entry)


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

case("computed order_created", [("k1", SECRET)], hdr(SIG), BODY, NOW,
     {"outcome": "ok", "key_id": "k1"}, source=SRC)
case("two keys, the second matches", [("k1", OTHER), ("k2", SECRET)], hdr(SIG), BODY, NOW,
     {"outcome": "ok", "key_id": "k2"}, source=SRC)
case("tampered body", [("k1", SECRET)], hdr(SIG), BODY.replace(b'"total":1199', b'"total":1'),
     NOW, REJECTED)
case("wrong key", [("k1", OTHER)], hdr(SIG), BODY, NOW, REJECTED)
case("base64 where hex is expected", [("k1", SECRET)], hdr(base64.b64encode(RAW).decode()),
     BODY, NOW, REJECTED)
case("truncated signature", [("k1", SECRET)], hdr(SIG[:-2]), BODY, NOW, REJECTED)
case("sha256= prefix is not part of the format", [("k1", SECRET)], hdr("sha256=" + SIG), BODY,
     NOW, REJECTED)
case("empty signature", [("k1", SECRET)], hdr(""), BODY, NOW, REJECTED)
case("no signature header", [("k1", SECRET)], [("x-event-name", "order_created")], BODY, NOW,
     REJECTED)


def write():
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "case names are unique"
    document = {"provider": PROVIDER, "spec": SPEC, "cases": CASES}
    text = json.dumps(document, indent=2, ensure_ascii=False)
    string = r'"(?:[^"\\]|\\.)*"'
    text = re.sub(r"\[\n\s+(" + string + r"),\n\s+(" + string + r")\n\s+\]", r"[\1, \2]", text)
    assert json.loads(text) == document
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, f"{PROVIDER}.json"), "w", encoding="utf-8") as out:
        out.write(text + "\n")
    print(f"wrote {PROVIDER}.json: {len(CASES)} cases")


write()
