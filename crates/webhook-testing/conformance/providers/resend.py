#!/usr/bin/env python3
"""Writes resend.json, the signature ground truth for Resend webhooks (Standard Webhooks).

Run it from this folder: `python3 resend.py`. Python 3.11 standard library only, so every
signature is computed independently of the Rust code under test. Resend's SDK test signs with
the current clock; the cases below reuse its secret, body and message id with a fixed
timestamp. Resend delivers through Svix, so the scheme is Standard Webhooks under svix-*
header names.
"""

import base64
import hashlib
import hmac
import json

from _conformance import REJECTED, Cases, ok, write

PROVIDER = "resend"

SPEC = {
    "source": ("resend/resend-node: src/webhooks/webhooks.ts (Webhooks.verify: passes the "
               "caller's id, timestamp and signature as webhook-id, webhook-timestamp, "
               "webhook-signature to standardwebhooks' Webhook.verify); docs "
               "https://resend.com/docs/webhooks/verify-webhooks-requests (headers svix-id, "
               "svix-timestamp, svix-signature); standard-webhooks/standard-webhooks: "
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
    "event_type": "body: type (email.sent, email.delivered, ...)",
    "key_form": "whsec_<base64 of the HMAC key> (the webhook's Signing Secret on its details "
                "page, also returned by the webhooks API); the key is the base64-decoded part "
                "after whsec_",
    "needs_url": False,
    "notes": (
        "Confirmed Standard Webhooks. Resend sends svix-* headers; its SDK takes the three "
        "values as arguments rather than reading header names, and the docs read them from "
        "svix-id, svix-timestamp and svix-signature. Tolerance 300 s in both directions "
        "(standardwebhooks JS: too old if now - t > 300, too new if t > now + 300). The docs "
        "stress the raw body: frameworks that parse and re-stringify JSON break the signature."
    ),
}

cases = Cases(PROVIDER)


def tag(key: bytes, content: bytes) -> bytes:
    return hmac.new(key, content, hashlib.sha256).digest()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# Constants of resend/resend-node src/webhooks/webhooks.spec.ts, describe('verify').
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
KEY = base64.b64decode(SECRET[len("whsec_"):])
MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
BODY = json.dumps({"type": "email.sent", "data": {"id": MSG_ID}}, separators=(",", ":")).encode()
assert BODY == b'{"type":"email.sent","data":{"id":"' + MSG_ID.encode() + b'"}}'
TS = 1700000000
RAW = tag(KEY, f"{MSG_ID}.{TS}.".encode() + BODY)
SIG = "v1," + b64(RAW)
OTHER = "whsec_" + b64(b"a previous resend signing secret")
SRC = ("resend/resend-node src/webhooks/webhooks.spec.ts constants (webhookSecret, id and "
       "payload of 'verifies a genuinely signed payload and returns the parsed event') signed "
       "here with a fixed timestamp by the standardwebhooks recipe: base64(hmac-sha256("
       "base64decode(secret without whsec_), f'{id}.{ts}.{body}'))")


def hdr(sig, ts=TS, msg_id=MSG_ID):
    return [("svix-id", msg_id), ("svix-timestamp", str(ts)), ("svix-signature", sig)]


cases.add("computed email.sent", hdr(SIG), BODY, TS + 1, ok("k1", MSG_ID, TS),
          secrets=[("k1", SECRET)], source=SRC)
cases.add("two keys, the second matches", hdr(SIG), BODY, TS + 1, ok("k2", MSG_ID, TS),
          secrets=[("k1", OTHER), ("k2", SECRET)], source=SRC)
cases.add("an invalid signature before the valid one", hdr("v1,invalid_signature " + SIG), BODY,
          TS + 1, ok("k1", MSG_ID, TS), secrets=[("k1", SECRET)], source=SRC)
cases.add("tampered body", hdr(SIG), BODY.replace(b"email.sent", b"email.bounced"), TS + 1,
          REJECTED, secrets=[("k1", SECRET)])
cases.add("wrong key", hdr(SIG), BODY, TS + 1, REJECTED, secrets=[("k1", OTHER)])
cases.add("signature of another body",
          hdr("v1," + b64(tag(KEY, f"{MSG_ID}.{TS}.".encode() + b'{"type":"email.sent"}'))), BODY,
          TS + 1, REJECTED, secrets=[("k1", SECRET)],
          source=SRC + "; 'throws when the signature does not match'")
cases.add("expired (301 s old)", hdr(SIG), BODY, TS + 301, REJECTED, secrets=[("k1", SECRET)])
cases.add("too new (301 s ahead)", hdr(SIG), BODY, TS - 301, REJECTED, secrets=[("k1", SECRET)])
cases.add("hex where base64 is expected", hdr("v1," + RAW.hex()), BODY, TS + 1, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("truncated signature", hdr(SIG[:-2]), BODY, TS + 1, REJECTED, secrets=[("k1", SECRET)])
cases.add("no svix-id header", hdr(SIG)[1:], BODY, TS + 1, REJECTED, secrets=[("k1", SECRET)])

write(__file__, PROVIDER, SPEC, cases)
