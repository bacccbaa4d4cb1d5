#!/usr/bin/env python3
"""Writes square.json: Square's webhook signature scheme and conformance cases.

Run it from anywhere: `python3 square.py`. Python 3.11 standard library only. The
signatures are computed here, independently of the Rust code under test; the
published vectors from Square's SDK tests are copied verbatim and checked against
this file's recipe before anything is written.
"""

import base64
import hashlib
import hmac

from _conformance import REJECTED, Cases, ok, write

PROVIDER = "square"
cases = Cases(PROVIDER, method="POST")


# --- The recipe ----------------------------------------------------------------------


def tag(key: str, url: str, body: str, digest=hashlib.sha256) -> bytes:
    """HMAC over the notification URL followed by the body (webhooks_helper.py)."""
    return hmac.new(key.encode(), (url + body).encode(), digest).digest()


def sign(key: str, url: str, body: str) -> str:
    return base64.b64encode(tag(key, url, body)).decode()


HEADER = "x-square-hmacsha256-signature"
T0 = 1_700_000_000


def headers(sig):
    return [(HEADER, sig), ("content-type", "application/json")]


# --- Published vectors: square/square-python-sdk tests/integration/test_webhooks_helper.py
SDK = "square/square-python-sdk: tests/integration/test_webhooks_helper.py"
BODY = ('{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-'
        'f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":'
        '"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}')
SIG = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="
KEY = "Ibxx_5AKakO-3qeNVR61Dw"
URL = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"
EVENT_ID = "ac3ac95b-f97d-458c-a6e6-18981597e05f"
# The event's created_at, 2022-07-13T20:30:59Z; Square's SDK does not check it.
CREATED = 1657744259
ESCAPED_BODY = '{"data":{"type":"webhooks","id":">id<"}}'
ESCAPED_SIG = "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U="
ESCAPED_KEY = "signature-key"
ESCAPED_URL = "https://webhook.site/webhooks"
OTHER_URL = "https://webhook.site/79a4f3a-dcfa-49ee-bac5-9d0edad886b9"
OTHER_KEY = "MCmhFRxGX82xMwg5FsaoQA"
BAD_SIG = "1z2n3DEJJiUPKcPzQo1ftvbxGdw="
# From the legacy test (legacy/tests/utilities/test_webhooks_helper.py): created_at changed.
CHANGED_BODY = ('{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":'
                '"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-06-13T20:30:59.0373399'
                '43Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}')
FORMATTED_BODY = """
        {
            "merchant_id": "MLEFBHHSJGVHD",
            "type": "webhooks.test_notification",
            "event_id": "ac3ac95b-f97d-458c-a6e6-18981597e05f",
            "created_at": "2022-07-13T20:30:59.037339943Z",
            "data": {
              "type": "webhooks",
              "id": "bc368e64-01aa-407e-b46e-3231809b1129"
            }
        }
        """
assert sign(KEY, URL, BODY) == SIG
assert sign(ESCAPED_KEY, ESCAPED_URL, ESCAPED_BODY) == ESCAPED_SIG
assert sign(KEY, OTHER_URL, BODY) != SIG
assert sign(OTHER_KEY, URL, BODY) != SIG
assert sign(KEY, URL, CHANGED_BODY) != SIG and sign(KEY, URL, FORMATTED_BODY) != SIG
# The published bad signature decodes to 20 bytes, the length of an HMAC-SHA1 tag.
assert len(base64.b64decode(BAD_SIG)) == 20

K1 = [("k1", KEY)]
cases.add("published SDK vector", headers(SIG), BODY, CREATED + 5, ok("k1", EVENT_ID), secrets=K1,
          url=URL, source=SDK + ": test_signature_validation_pass")
cases.add("published SDK vector: body with > and <", headers(ESCAPED_SIG), ESCAPED_BODY, T0,
          ok("k1"), secrets=[("k1", ESCAPED_KEY)], url=ESCAPED_URL,
          source=SDK + ": test_signature_validation_escaped_pass")
cases.add("published SDK vector: another notification URL", headers(SIG), BODY, CREATED + 5,
          REJECTED, secrets=K1, url=OTHER_URL,
          source=SDK + ": test_signature_validation_url_mismatch")
cases.add("published SDK vector: wrong key", headers(SIG), BODY, CREATED + 5, REJECTED,
          secrets=[("k1", OTHER_KEY)], url=URL,
          source=SDK + ": test_signature_validation_invalid_signature_key")
cases.add("published SDK vector: another signature (20 bytes, SHA-1 length)", headers(BAD_SIG),
          BODY, CREATED + 5, REJECTED, secrets=K1, url=URL,
          source=SDK + ": test_signature_validation_invalid_signature_header")
cases.add("published SDK vector: tampered body (created_at changed)", headers(SIG), CHANGED_BODY,
          CREATED + 5, REJECTED, secrets=K1, url=URL,
          source="square/square-python-sdk: legacy/tests/utilities/test_webhooks_helper.py: "
                 "test_signature_validation_body_mismatch")
cases.add("published SDK vector: the same JSON re-formatted", headers(SIG), FORMATTED_BODY,
          CREATED + 5, REJECTED, secrets=K1, url=URL,
          source=SDK + ": test_signature_validation_body_formatted")

# --- Computed cases -------------------------------------------------------------------
cases.add("rotation: the second key matches", headers(SIG), BODY, CREATED + 5, ok("k2", EVENT_ID),
          secrets=[("k1", OTHER_KEY), ("k2", KEY)], url=URL, source=SDK)
cases.add("a week-old event still verifies (no timestamp is signed)", headers(SIG), BODY,
          CREATED + 7 * 86400, ok("k1", EVENT_ID), secrets=K1, url=URL, source=SDK)
cases.add("the URL with a trailing slash is another URL", headers(SIG), BODY, CREATED + 5, REJECTED,
          secrets=K1, url=URL + "/", source=SDK)
cases.add("hex where base64 is expected", headers(tag(KEY, URL, BODY).hex()), BODY, CREATED + 5,
          REJECTED, secrets=K1, url=URL, source=SDK)
cases.add("truncated signature", headers(SIG[:-4]), BODY, CREATED + 5, REJECTED, secrets=K1,
          url=URL, source=SDK)
cases.add("HMAC-SHA1 (the legacy x-square-signature recipe) in the SHA-256 header",
          headers(base64.b64encode(tag(KEY, URL, BODY, hashlib.sha1)).decode()), BODY, CREATED + 5,
          REJECTED, secrets=K1, url=URL, source=SDK)
cases.add("body signed without the URL", headers(base64.b64encode(hmac.new(
          KEY.encode(), BODY.encode(), hashlib.sha256).digest()).decode()), BODY, CREATED + 5,
          REJECTED, secrets=K1, url=URL, source=SDK)
cases.add("no signature header", [("content-type", "application/json")], BODY, CREATED + 5,
          REJECTED, secrets=K1, url=URL)

write(__file__, PROVIDER, {
    "source": ("square/square-python-sdk: src/square/utils/webhooks_helper.py (verify_signature); "
               "tests/integration/test_webhooks_helper.py"),
    "signature_header": "x-square-hmacsha256-signature",
    "layout": "<base64>",
    "algorithm": "hmac-sha256",
    "encoding": "base64",
    "signed_content": ("{notification_url}{body}: the subscription's notification URL exactly "
                       "as configured in the Developer Console, then the raw body (UTF-8)"),
    "timestamp": "none signed (body: created_at, RFC 3339 text, not checked by the SDK)",
    "tolerance_seconds": None,
    "event_id": "body: event_id",
    "event_type": "body: type",
    "key_form": "raw signature key text of the webhook subscription (e.g. Ibxx_5AKakO-3qeNVR61Dw)",
    "needs_url": True,
    "handshake": "none",
    "notes": (
        "The SDK compares base64 text exactly (hmac.compare_digest on the encoded strings). It "
        "returns false for an empty body and raises for an empty key or URL. The URL is the "
        "configured notification URL, not one rebuilt from the request: a proxy that rewrites "
        "host or path must not change it. Each subscription has its own signature key; Square "
        "can rotate it (Developer Console / UpdateWebhookSubscriptionSignatureKey), which is "
        "when two keys coexist. Square's older docs (quoted by third-party packages) describe "
        "x-square-signature, base64 HMAC-SHA1 over the same URL+body; the current SDK (and its "
        "legacy helper) only implements x-square-hmacsha256-signature. The docs list other "
        "metadata headers (square-environment, ...), none of them signed. No timestamp is "
        "signed, so replays are only caught by de-duplicating event_id."),
}, cases)
