#!/usr/bin/env python3
"""Writes bitbucket.json, the signature conformance cases for Bitbucket Cloud webhooks.

Run it from any folder: `python3 bitbucket.py`. Standard library only: every signature is
computed here, independently of the Rust code under test.

Scheme (Atlassian's Bitbucket Cloud docs "Manage webhooks" > secure webhooks, the
"Introducing enhanced webhook security" announcement and the KB article "Verify webhook
signature with example Python code"; Atlassian ships no SDK that verifies):
`X-Hub-Signature: sha256=<hex>`, the hex HMAC-SHA256 of the raw body keyed with the webhook's
secret as text. The secret is optional: a webhook without one sends no signature header.
Nothing else is signed.
"""

import base64
import hashlib
import hmac
import json

from _conformance import REJECTED, Cases, ok, write

PROVIDER = "bitbucket"
DOCS = ("Bitbucket Cloud docs, \"Manage webhooks\" "
        "(https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/) and \"Event "
        "payloads\" (https://support.atlassian.com/bitbucket-cloud/docs/event-payloads/); "
        "announcement https://bitbucket.org/blog/enhanced-webhook-security; KB "
        "https://support.atlassian.com/bitbucket-cloud/kb/"
        "bitbucket-cloud-python-sample-code-to-verify-webhook-signature/")

SPEC = {
    "source": DOCS,
    "signature_header": "x-hub-signature",
    "layout": "sha256=<hex>",
    "algorithm": "hmac-sha256",
    "encoding": "hex",
    "signed_content": "{body}",
    "timestamp": "none signed",
    "tolerance_seconds": None,
    "event_id": "header x-request-uuid (the docs: \"The UUID of the request\")",
    "event_type": "header x-event-key (e.g. repo:push)",
    "key_form": "raw secret text (entered by the user or made by \"Generate secret\"; shown once)",
    "needs_url": False,
    "notes": (
        "No SDK source exists; this follows the docs. Other headers on every delivery: "
        "x-hook-uuid (the webhook's UUID, constant across deliveries), x-attempt-number "
        "(1, 2, ... on retries). The docs do not say whether x-request-uuid stays the same "
        "across retries of one event; treat it as the delivery id, and check before relying "
        "on it for de-duplication. The header name is the one GitHub uses for its legacy "
        "SHA-1 signature and Intercom uses for SHA-1, so only the sha256= prefix tells them "
        "apart. Bitbucket Data Center/Server uses the same header and HMAC-SHA256 default but "
        "is a different product with its own headers (x-request-id). The Atlassian KB "
        "mentions \"Hello World\" examples in the webhook docs; the stored copy of that page "
        "did not include them, so no published vector is embedded. The same KB article warns "
        "that the body shown under \"View requests\" is pretty-printed: its script strips "
        "whitespace and the spaces after colons to get back the bytes that were signed, so "
        "verify over the raw body as received."
    ),
}

cases = Cases(PROVIDER, scheme=PROVIDER)


def sign(key: str, body: bytes) -> bytes:
    return hmac.new(key.encode(), body, hashlib.sha256).digest()


SECRET = "Qm9yZWQtZm94LTI5LWp1bXBz"  # an opaque secret, as "Generate secret" makes
OTHER = "the previous webhook secret"
T0 = 1_700_000_000
REQUEST = "5c7f3e1a-9a4b-4c53-8a7e-2f1d0b6c9e84"
HOOK = "{6e5a1a38-0b1f-4f0f-9f7e-3b5f0f6b4c21}"
BODY = json.dumps({
    "push": {"changes": [{"new": {"type": "branch", "name": "main",
                                  "target": {"type": "commit",
                                             "hash": "4f1c2e0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e"}},
                          "old": None, "created": True, "forced": False, "closed": False}]},
    "repository": {"type": "repository", "full_name": "team/site",
                   "uuid": "{0c6e1d4b-2f3a-4e5d-9c8b-7a6f5e4d3c2b}"},
    "actor": {"type": "user", "display_name": "Zoë Ünal"},
}, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
TAG = sign(SECRET, BODY)
HEX = TAG.hex()
COMPUTED = "computed here: 'sha256=' + hex(HMAC-SHA256(secret, body)), per " + DOCS


def hdrs(value):
    return [("x-hub-signature", value), ("x-event-key", "repo:push"),
            ("x-request-uuid", REQUEST), ("x-hook-uuid", HOOK), ("x-attempt-number", "1")]


cases.add("computed repo:push vector", hdrs("sha256=" + HEX), BODY, T0, ok("k1", event_id=REQUEST),
          secrets=[("k1", SECRET)], source=COMPUTED)
cases.add("rotation, the second key matches", hdrs("sha256=" + HEX), BODY, T0,
          ok("k2", event_id=REQUEST), secrets=[("k1", OTHER), ("k2", SECRET)], source=COMPUTED)
cases.add("changed body", hdrs("sha256=" + HEX), BODY.replace(b'"main"', b'"mainx"'), T0, REJECTED,
          secrets=[("k1", SECRET)], source=COMPUTED)
cases.add("wrong key", hdrs("sha256=" + HEX), BODY, T0, REJECTED, secrets=[("k1", OTHER)],
          source=COMPUTED)
cases.add("a retry, an hour later, still verifies (nothing time-bound is signed)",
          [(n, "2" if n == "x-attempt-number" else v) for n, v in hdrs("sha256=" + HEX)], BODY,
          T0 + 3600, ok("k1", event_id=REQUEST), secrets=[("k1", SECRET)], source=COMPUTED)
cases.add("hex without the sha256= prefix", hdrs(HEX), BODY, T0, REJECTED, secrets=[("k1", SECRET)])
cases.add("GitHub-style sha1= signature in the same header",
          hdrs("sha1=" + hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest()), BODY, T0,
          REJECTED, secrets=[("k1", SECRET)], note="Bitbucket Cloud signs with SHA-256 only")
cases.add("base64 where hex is expected", hdrs("sha256=" + base64.b64encode(TAG).decode()), BODY,
          T0, REJECTED, secrets=[("k1", SECRET)])
cases.add("truncated signature", hdrs("sha256=" + HEX[:-2]), BODY, T0, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("no signature header (webhook without a secret)",
          [h for h in hdrs("") if h[0] != "x-hub-signature"], BODY, T0, REJECTED,
          secrets=[("k1", SECRET)],
          note="Bitbucket sends no x-hub-signature when the webhook has no secret; a receiver "
               "configured with a secret must reject")

write(__file__, PROVIDER, SPEC, cases)
