#!/usr/bin/env python3
"""Writes dropbox.json: Dropbox's webhook signature scheme and conformance cases.

Run it from anywhere: `python3 dropbox.py`. Python 3.11 standard library only. Dropbox
publishes no vector with its key, so the signatures are computed here, independently
of the Rust code under test, with the recipe of Dropbox's sample app (mdwebhook). One
third-party test vector is copied verbatim as a cross-check.
"""

import base64
import hashlib
import hmac

from _conformance import REJECTED, Cases, ok, write

PROVIDER = "dropbox"
cases = Cases(PROVIDER)


# --- The recipe ----------------------------------------------------------------------


def tag(app_secret: str, body: str) -> bytes:
    """HMAC-SHA256 of the raw body with the app secret (mdwebhook app.py)."""
    return hmac.new(app_secret.encode(), body.encode(), hashlib.sha256).digest()


def sign(app_secret: str, body: str) -> str:
    return tag(app_secret, body).hex()


HEADER = "x-dropbox-signature"


def headers(*pairs):
    return list(pairs) + [("content-type", "application/json")]


SAMPLE = "dropbox/mdwebhook: app.py (webhook)"
T0 = 1_700_000_000
APP_SECRET = "f8rm2kq9z1x7v3c"
K1 = [("k1", APP_SECRET)]
BODY = '{"list_folder": {"accounts": ["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"]}}'
SIG = sign(APP_SECRET, BODY)

# Third-party cross-check: hapi-dropbox-webhooks 1.1.0, test/index.js (npm).
HAPI_SECRET = "the_secret"
HAPI_BODY = '{"delta": {"users": [12345]}}'
HAPI_SIG = "0a8c16b085420b960dc78664279fe09e936a2a01b1f91064869d9e77dfd64529"
assert sign(HAPI_SECRET, HAPI_BODY) == HAPI_SIG

cases.add("a list_folder notification", headers((HEADER, SIG)), BODY, T0, ok("k1"), secrets=K1,
          source=SAMPLE)
cases.add("third-party vector: a legacy delta notification", headers((HEADER, HAPI_SIG)), HAPI_BODY,
          T0, ok("k1"), secrets=[("k1", HAPI_SECRET)],
          source="hapi-dropbox-webhooks 1.1.0 (npm, not Dropbox's): test/index.js")
cases.add("rotation: the second app secret matches", headers((HEADER, SIG)), BODY, T0, ok("k2"),
          secrets=[("k1", "previous-secret"), ("k2", APP_SECRET)], source=SAMPLE)
cases.add("tampered body", headers((HEADER, SIG)), BODY.replace("dbid:AAH4", "dbid:AAH5"), T0,
          REJECTED, secrets=K1, source=SAMPLE)
cases.add("wrong key", headers((HEADER, SIG)), BODY, T0, REJECTED,
          secrets=[("k1", "previous-secret")], source=SAMPLE)
cases.add("base64 where hex is expected", headers((HEADER, base64.b64encode(
          tag(APP_SECRET, BODY)).decode())), BODY, T0, REJECTED, secrets=K1, source=SAMPLE)
cases.add("truncated signature", headers((HEADER, SIG[:-2])), BODY, T0, REJECTED, secrets=K1,
          source=SAMPLE)
cases.add("sha256= prefix (Dropbox sends bare hex)", headers((HEADER, "sha256=" + SIG)), BODY, T0,
          REJECTED, secrets=K1, source=SAMPLE)
cases.add("no signature header", headers(), BODY, T0, REJECTED, secrets=K1)

write(__file__, PROVIDER, {
    "source": ("dropbox/mdwebhook: app.py (webhook, challenge), Dropbox's sample app; no "
               "Dropbox SDK verifies webhooks"),
    "signature_header": "x-dropbox-signature",
    "layout": "<hex>",
    "algorithm": "hmac-sha256",
    "encoding": "hex",
    "signed_content": "{body}",
    "timestamp": "none",
    "tolerance_seconds": None,
    "event_id": "none (the body only lists changed accounts: list_folder.accounts[])",
    "event_type": "none (list_folder; the legacy delta.users[] too)",
    "key_form": "raw app secret text of the Dropbox app (App Console)",
    "needs_url": False,
    "handshake": (
        "GET {webhook}?challenge=<text>: answer 200 with the challenge echoed as the body, "
        "Content-Type text/plain and X-Content-Type-Options: nosniff (mdwebhook challenge()). "
        "No key is involved."),
    "notes": (
        "mdwebhook encodes the app secret as ASCII, computes hexdigest (lower case) and "
        "compares the header text with hmac.compare_digest, so upper-case hex would fail "
        "there. A notification says only which accounts changed; the receiver then calls "
        "list_folder/continue with its stored cursor, so a replayed or duplicated "
        "notification is harmless and there is no timestamp or delivery id."),
}, cases)
