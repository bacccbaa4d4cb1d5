#!/usr/bin/env python3
"""Writes typeform.json, the signature conformance cases for Typeform webhooks.

Run it from any folder: `python3 typeform.py`. Standard library only: every signature is
computed here, independently of the Rust code under test.

Scheme (Typeform's docs "Secure your webhooks"; Typeform's API client, Typeform/js-api-client,
has no verification helper): `Typeform-Signature: sha256=<base64>`, the standard, padded
base64 (Ruby's strict_encode64 in the docs' example) of the HMAC-SHA256 of the raw body,
keyed with the webhook's `secret` as text. Nothing else is signed.
"""

import base64
import hashlib
import hmac
import json

from _conformance import REJECTED, Cases, ok, write

PROVIDER = "typeform"
DOCS = ("Typeform docs, \"Secure your webhooks\" "
        "(https://www.typeform.com/developers/webhooks/secure-your-webhooks/)")

SPEC = {
    "source": DOCS,
    "signature_header": "typeform-signature",
    "layout": "sha256=<base64>",
    "algorithm": "hmac-sha256",
    "encoding": "base64",
    "signed_content": "{body}",
    "timestamp": "none signed (body: form_response.submitted_at, RFC 3339, is not checked)",
    "tolerance_seconds": None,
    "event_id": "body: event_id",
    "event_type": "body: event_type (form_response)",
    "key_form": "raw secret text: the `secret` set on the webhook (any string the user picks; "
                "the docs suggest SecureRandom.hex(20))",
    "needs_url": False,
    "notes": (
        "No SDK source: Typeform/js-api-client only sets the secret when creating a webhook. "
        "The docs' Ruby and Node examples build 'sha256=' + base64 and compare the whole "
        "header string (Rack::Utils.secure_compare / ===), so the base64 is the standard "
        "alphabet with padding; unpadded or URL-safe base64 does not match. The docs publish "
        "no vector (secret and payload are placeholders)."
    ),
}

cases = Cases(PROVIDER, scheme=PROVIDER)


def sign(key: str, body: bytes) -> bytes:
    return hmac.new(key.encode(), body, hashlib.sha256).digest()


SECRET = "5f2a8c1e9d3b7a604f1e2d3c4b5a69788796a5b4"  # SecureRandom.hex(20)-shaped
OTHER = "0123456789abcdef0123456789abcdef01234567"
T0 = 1_700_000_000
EVENT = "01HF3Z8T9W2Q4R6S8V0X2Y4Z6A"


def body_for(answer: str) -> bytes:
    return json.dumps({
        "event_id": EVENT,
        "event_type": "form_response",
        "form_response": {
            "form_id": "lT4Z3j",
            "token": "a3a12ec67a1365927098a606107fac15",
            "submitted_at": "2023-11-14T22:13:20Z",
            "definition": {"id": "lT4Z3j", "title": "Webhooks example"},
            "answers": [{"type": "text", "text": answer,
                         "field": {"id": "DlXFaesGBpoF", "type": "short_text"}}],
        },
    }, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# Pick the answer text so that the signature's base64 contains both '+' and '/' and ends in
# '=' padding: then the URL-safe and unpadded variants below really differ from it.
for n in range(1000):
    BODY = body_for(f"Zoë says hi #{n}")
    TAG = sign(SECRET, BODY)
    B64 = base64.b64encode(TAG).decode()
    if "+" in B64 and "/" in B64 and B64.endswith("="):
        break
else:
    raise SystemExit("no body gave a base64 signature with '+', '/' and padding")
assert len(TAG) == 32 and B64.endswith("=") and not B64.endswith("==")
COMPUTED = "computed here: 'sha256=' + base64(HMAC-SHA256(secret, body)), per " + DOCS


def hdrs(value):
    return [("typeform-signature", value)]


cases.add("computed vector", hdrs("sha256=" + B64), BODY, T0, ok("k1", event_id=EVENT),
          secrets=[("k1", SECRET)], source=COMPUTED)
cases.add("rotation, the second key matches", hdrs("sha256=" + B64), BODY, T0,
          ok("k2", event_id=EVENT), secrets=[("k1", OTHER), ("k2", SECRET)], source=COMPUTED)
cases.add("changed body", hdrs("sha256=" + B64),
          BODY.replace(b"Webhooks example", b"Webhooks exampel"), T0, REJECTED,
          secrets=[("k1", SECRET)], source=COMPUTED)
cases.add("wrong key", hdrs("sha256=" + B64), BODY, T0, REJECTED, secrets=[("k1", OTHER)],
          source=COMPUTED)
cases.add("an old delivery still verifies (nothing time-bound is signed)", hdrs("sha256=" + B64),
          BODY, T0 + 7 * 86_400, ok("k1", event_id=EVENT), secrets=[("k1", SECRET)],
          source=COMPUTED)
cases.add("hex where base64 is expected", hdrs("sha256=" + TAG.hex()), BODY, T0, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("URL-safe base64 alphabet", hdrs("sha256=" + base64.urlsafe_b64encode(TAG).decode()),
          BODY, T0, REJECTED, secrets=[("k1", SECRET)],
          note="the docs compare against strict (standard alphabet) base64")
cases.add("base64 without its padding", hdrs("sha256=" + B64.rstrip("=")), BODY, T0, REJECTED,
          secrets=[("k1", SECRET)], note="the docs compare the whole padded string")
cases.add("truncated signature", hdrs("sha256=" + B64[:-4]), BODY, T0, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("base64 without the sha256= prefix", hdrs(B64), BODY, T0, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("no signature header", [], BODY, T0, REJECTED, secrets=[("k1", SECRET)])

write(__file__, PROVIDER, SPEC, cases)
