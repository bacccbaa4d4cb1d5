#!/usr/bin/env python3
"""Writes vercel.json, the signature ground truth for Vercel webhooks.

Run it from this folder: `python3 vercel.py`. Python 3.11 standard library only, so every
signature is computed independently of the Rust code under test. Vercel has no SDK helper
that verifies webhooks and publishes no fixed vector; the cases use the recipe of Vercel's
docs example.
"""

import base64
import hashlib
import hmac

from _conformance import REJECTED, Cases, ok, write

PROVIDER = "vercel"

SPEC = {
    "source": ("Vercel docs, 'Webhooks API', section 'Securing webhooks' "
               "(https://vercel.com/docs/webhooks/webhooks-api): crypto.createHmac('sha1', "
               "secret).update(rawBodyBuffer).digest('hex') compared with the "
               "x-vercel-signature header; no official SDK verifies"),
    "signature_header": "x-vercel-signature",
    "layout": "<hex> (the whole header value, 40 hex digits, no prefix)",
    "algorithm": "hmac-sha1",
    "encoding": "hex (lowercase; the docs compare the hex text with !==)",
    "signed_content": "{body}",
    "timestamp": "none in a header; the signed body carries createdAt (Unix milliseconds), "
                 "which the docs do not check",
    "tolerance_seconds": None,
    "event_id": "body: id",
    "event_type": "body: type",
    "key_form": "raw secret text, used as its UTF-8 bytes: the account webhook's secret (shown "
                "once when the webhook is created) or, for integration webhooks, the "
                "integration's Client Secret",
    "needs_url": False,
    "notes": (
        "SHA-1, not SHA-256. Log drains use the same header and recipe with the drain's "
        "signature secret. The docs example compares with !== (not constant time) and "
        "returns HTTP 200 with an error JSON on mismatch; a receiver should answer 401 and "
        "compare in constant time. No replay protection beyond deduplicating on body id."
    ),
}

cases = Cases(PROVIDER)


def tag(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha1).digest()


def hdr(sig):
    return [("x-vercel-signature", sig)]


SECRET = "Xk3vP9qLr2TzW8mN4bQh7sJd"
OTHER = "an-older-webhook-secret"
EVENT_ID = "Qr4jx8CR7MPXszVCv2y8tJzT"
BODY = (b'{"id":"' + EVENT_ID.encode() + b'","type":"deployment.succeeded","createdAt":'
        b'1700000000000,"region":"iad1","payload":{"team":{"id":"team_a1b2c3"},"user":{"id":'
        b'"usr_d4e5f6"},"deployment":{"id":"dpl_89qyp1cskzkLrVicDaZoDbjyHuDJ","meta":{},'
        b'"url":"my-app-git-main-acme.vercel.app","name":"my-app"},"links":{"deployment":'
        b'"https://vercel.com/acme/my-app/89qyp1cskzkLrVicDaZoDbjyHuDJ","project":'
        b'"https://vercel.com/acme/my-app"},"target":"production","project":{"id":'
        b'"prj_12HKQaOmR5t5Uy6vdcQsNIiZgHGB"},"plan":"pro","regions":["iad1"]}}')
RAW = tag(SECRET, BODY)
SIG = RAW.hex()
NOW = 1700000001
SRC = "computed here with the docs' recipe: hmac-sha1(secret, body).hexdigest()"

cases.add("computed deployment.succeeded", hdr(SIG), BODY, NOW, ok("k1", EVENT_ID),
          secrets=[("k1", SECRET)], source=SRC)
cases.add("two keys, the second matches", hdr(SIG), BODY, NOW, ok("k2", EVENT_ID),
          secrets=[("k1", OTHER), ("k2", SECRET)], source=SRC)
cases.add("tampered body", hdr(SIG), BODY.replace(b'"target":"production"', b'"target":"preview"'),
          NOW, REJECTED, secrets=[("k1", SECRET)])
cases.add("wrong key", hdr(SIG), BODY, NOW, REJECTED, secrets=[("k1", OTHER)])
cases.add("base64 where hex is expected", hdr(base64.b64encode(RAW).decode()), BODY, NOW, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("truncated signature", hdr(SIG[:-2]), BODY, NOW, REJECTED, secrets=[("k1", SECRET)])
cases.add("hmac-sha256 instead of hmac-sha1",
          hdr(hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()), BODY, NOW, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("sha1= prefix is not part of the format", hdr("sha1=" + SIG), BODY, NOW, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("no signature header", [], BODY, NOW, REJECTED, secrets=[("k1", SECRET)])

write(__file__, PROVIDER, SPEC, cases)
