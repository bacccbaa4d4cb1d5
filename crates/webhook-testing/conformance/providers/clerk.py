#!/usr/bin/env python3
"""Writes clerk.json, the signature ground truth for Clerk webhooks (Standard Webhooks).

Run it from this folder: `python3 clerk.py`. Python 3.11 standard library only, so every
signature is computed independently of the Rust code under test. Clerk's SDK tests sign with
the current clock; the cases below reuse their secret, body and message id with a fixed
timestamp. Clerk delivers through Svix, so the scheme is Standard Webhooks under svix-*
header names.
"""

import base64
import hashlib
import hmac
import json
import os
import re

PROVIDER = "clerk"

SPEC = {
    "source": ("clerk/javascript: packages/backend/src/webhooks.ts (verifyWebhook: requires "
               "svix-id, svix-timestamp, svix-signature, maps them to webhook-* and calls "
               "standardwebhooks' Webhook.verify); standard-webhooks/standard-webhooks: "
               "libraries/javascript/src/index.ts"),
    "signature_header": "svix-signature",
    "layout": "v1,<base64>[ v1,<base64>...] (space-separated; entries with another version, "
              "e.g. v1a, are skipped)",
    "algorithm": "hmac-sha256",
    "encoding": "base64 (standard alphabet, padded)",
    "signed_content": "{svix-id}.{svix-timestamp}.{body}",
    "timestamp": "header svix-timestamp, Unix seconds",
    "tolerance_seconds": 300,
    "event_id": "header svix-id (msg_...)",
    "event_type": "body: type",
    "key_form": "whsec_<base64 of the HMAC key> (the endpoint's Signing Secret in the Clerk "
                "dashboard, env CLERK_WEBHOOK_SIGNING_SECRET); the key is the base64-decoded "
                "part after whsec_",
    "needs_url": False,
    "notes": (
        "Confirmed Standard Webhooks. Clerk sends only svix-* headers and its SDK reads only "
        "svix-* (webhook-* headers on the request are ignored by verifyWebhook). Tolerance "
        "300 s in both directions (standardwebhooks JS: too old if now - t > 300, too new if "
        "t > now + 300). Clerk's own SDK tests send a fractional svix-timestamp "
        "((Date.now() / 1000).toString()), which the JS library accepts because it parses "
        "with parseInt and signs the truncated integer; real Clerk deliveries carry integer "
        "seconds, and this project's standard scheme rejects a fractional timestamp."
    ),
}

CASES = []


def tag(key: bytes, content: bytes) -> bytes:
    return hmac.new(key, content, hashlib.sha256).digest()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


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


# Constants of clerk/javascript packages/backend/src/__tests__/webhooks.test.ts.
SECRET = "whsec_" + b64(b"test_signing_secret_32_chars_long")
KEY = base64.b64decode(SECRET[len("whsec_"):])
BODY = json.dumps({"type": "user.created", "data": {"id": "user_123"}},
                  separators=(",", ":")).encode()
assert BODY == b'{"type":"user.created","data":{"id":"user_123"}}'  # JSON.stringify output
MSG_ID = "msg_123"
TS = 1700000000
RAW = tag(KEY, f"{MSG_ID}.{TS}.".encode() + BODY)
SIG = "v1," + b64(RAW)
OTHER = "whsec_" + b64(b"a previous clerk signing secret")
SRC = ("clerk/javascript packages/backend/src/__tests__/webhooks.test.ts constants "
       "(mockSecret, mockBody, svix id msg_123) signed here with a fixed timestamp by the "
       "standardwebhooks recipe: base64(hmac-sha256(base64decode(secret without whsec_), "
       "f'{id}.{ts}.{body}'))")


def hdr(sig, ts=TS, msg_id=MSG_ID):
    return [("svix-id", msg_id), ("svix-timestamp", str(ts)), ("svix-signature", sig)]


def ok(key_id):
    return {"outcome": "ok", "key_id": key_id, "event_id": MSG_ID, "timestamp": TS}


case("computed user.created", [("k1", SECRET)], hdr(SIG), BODY, TS + 1, ok("k1"), source=SRC)
case("two keys, the second matches", [("k1", OTHER), ("k2", SECRET)], hdr(SIG), BODY, TS + 1,
     ok("k2"), source=SRC)
case("an invalid signature before the valid one", [("k1", SECRET)],
     hdr("v1,invalid_signature " + SIG), BODY, TS + 1, ok("k1"),
     source=SRC + "; 'should handle multiple signatures in header'")
case("tampered body", [("k1", SECRET)], hdr(SIG),
     BODY.replace(b"user_123", b"user_124"), TS + 1, REJECTED)
case("wrong key", [("k1", OTHER)], hdr(SIG), BODY, TS + 1, REJECTED)
case("invalid signature text", [("k1", SECRET)], hdr("v1,invalid_signature_here"), BODY,
     TS + 1, REJECTED, source=SRC + "; 'should reject invalid signatures'")
case("expired (301 s old)", [("k1", SECRET)], hdr(SIG), BODY, TS + 301, REJECTED)
case("too new (301 s ahead)", [("k1", SECRET)], hdr(SIG), BODY, TS - 301, REJECTED)
case("hex where base64 is expected", [("k1", SECRET)], hdr("v1," + RAW.hex()), BODY, TS + 1,
     REJECTED)
case("truncated signature", [("k1", SECRET)], hdr(SIG[:-2]), BODY, TS + 1, REJECTED)
case("no svix-id header", [("k1", SECRET)], hdr(SIG)[1:], BODY, TS + 1, REJECTED,
     source=SRC + "; 'throws when required headers are missing'")


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
