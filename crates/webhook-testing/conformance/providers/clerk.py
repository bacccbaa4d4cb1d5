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

from _conformance import REJECTED, Cases, ok, write

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

cases = Cases(PROVIDER)


def tag(key: bytes, content: bytes) -> bytes:
    return hmac.new(key, content, hashlib.sha256).digest()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


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


cases.add("computed user.created", hdr(SIG), BODY, TS + 1, ok("k1", MSG_ID, TS),
          secrets=[("k1", SECRET)], source=SRC)
cases.add("two keys, the second matches", hdr(SIG), BODY, TS + 1, ok("k2", MSG_ID, TS),
          secrets=[("k1", OTHER), ("k2", SECRET)], source=SRC)
cases.add("an invalid signature before the valid one", hdr("v1,invalid_signature " + SIG), BODY,
          TS + 1, ok("k1", MSG_ID, TS), secrets=[("k1", SECRET)],
          source=SRC + "; 'should handle multiple signatures in header'")
cases.add("tampered body", hdr(SIG), BODY.replace(b"user_123", b"user_124"), TS + 1, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("wrong key", hdr(SIG), BODY, TS + 1, REJECTED, secrets=[("k1", OTHER)])
cases.add("invalid signature text", hdr("v1,invalid_signature_here"), BODY, TS + 1, REJECTED,
          secrets=[("k1", SECRET)], source=SRC + "; 'should reject invalid signatures'")
cases.add("expired (301 s old)", hdr(SIG), BODY, TS + 301, REJECTED, secrets=[("k1", SECRET)])
cases.add("too new (301 s ahead)", hdr(SIG), BODY, TS - 301, REJECTED, secrets=[("k1", SECRET)])
cases.add("hex where base64 is expected", hdr("v1," + RAW.hex()), BODY, TS + 1, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("truncated signature", hdr(SIG[:-2]), BODY, TS + 1, REJECTED, secrets=[("k1", SECRET)])
cases.add("no svix-id header", hdr(SIG)[1:], BODY, TS + 1, REJECTED, secrets=[("k1", SECRET)],
          source=SRC + "; 'throws when required headers are missing'")

write(__file__, PROVIDER, SPEC, cases)
