#!/usr/bin/env python3
"""Writes linear.json, the signature conformance cases for Linear webhooks.

Run it from any folder: `python3 linear.py`. Standard library only: every signature is
computed here, independently of the Rust code under test.

Scheme (confirmed in linear/linear, packages/sdk/src/webhooks/client.ts): `Linear-Signature`
is the bare lowercase hex HMAC-SHA256 of the raw body, keyed with the webhook's signing secret
as text. Replay protection uses the body's `webhookTimestamp` (Unix milliseconds, so it is
covered by the signature); only when the body has none does the SDK fall back to the unsigned
`Linear-Timestamp` header. The SDK rejects |now - timestamp| > 60 000 ms.

Linear publishes no fixed vector (its SDK tests sign with `Date.now()`), so every signature
here is computed, over a body of the shape the SDK tests use.
"""

import base64
import hashlib
import hmac
import json

from _conformance import REJECTED, Cases, ok, write

PROVIDER = "linear"
CLIENT = "linear/linear (8335e09): packages/sdk/src/webhooks/client.ts"
TEST = "linear/linear (8335e09): packages/sdk/src/_tests/LinearWebhooks.test.ts"
HANDLER_TEST = "linear/linear (8335e09): packages/sdk/src/_tests/webhook-handler.test.ts"

SPEC = {
    "source": CLIENT + " (LinearWebhookClient.verify and parseVerifiedPayload)",
    "signature_header": "linear-signature",
    "layout": "<hex>",
    "algorithm": "hmac-sha256",
    "encoding": "hex",
    "signed_content": "{body}",
    "timestamp": ("body: webhookTimestamp (JSON number, Unix milliseconds); when the body has "
                  "none, header linear-timestamp (Unix milliseconds, not signed); when neither "
                  "is present the SDK checks no time"),
    "tolerance_seconds": 60,
    "event_id": "header linear-delivery (UUID per delivery; from Linear's docs, the SDK does "
                "not read it)",
    "event_type": "body: type (with body: action); header linear-event",
    "key_form": "raw secret text (the webhook's signing secret as Linear shows it)",
    "needs_url": False,
    "notes": (
        "The SDK compares the hex string it computes with the header byte for byte "
        "(Buffer.from(hex) vs Buffer.from(signature), timingSafeEqual), so uppercase hex and any "
        "prefix are rejected. The tolerance is symmetric and inclusive: |Date.now() - ts| > "
        "60 000 ms rejects, exactly 60 s passes. The body timestamp wins over the header since "
        "linear/linear#1140 (\"prefer signed webhook timestamp\"): a fresh unsigned header "
        "cannot revive a stale signed body. A repeated header is read as its first value "
        "(Node adapter). The millisecond timestamp is compared with `now` in seconds here: "
        "`now` * 1000 is the verifier's clock in ms."
    ),
}

cases = Cases(PROVIDER, tolerance=SPEC["tolerance_seconds"], scheme=PROVIDER)


def sign(key: str, body: bytes) -> bytes:
    return hmac.new(key.encode(), body, hashlib.sha256).digest()


SECRET = "SECRET"  # the SDK tests' secret
OTHER = "WRONG_SECRET"  # the SDK tests' wrong secret
T0 = 1_700_000_000  # seconds; the body carries T0 * 1000 ms
DELIVERY = "234d1a4e-b617-4388-90fe-adc3633d6b72"


def comment_body(timestamp_ms=None):
    """The SDK tests' Comment payload, serialised like JSON.stringify (no spaces)."""
    payload = {
        "action": "create",
        "data": {
            "id": "2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9",
            "createdAt": "2020-01-23T12:53:18.084Z",
            "updatedAt": "2020-01-23T12:53:18.084Z",
            "archivedAt": None,
            "body": "Indeed, I think this is definitely an improvement over the previous version.",
            "edited": False,
            "issueId": "539068e2-ae88-4d09-bd75-22eb4a59612f",
            "userId": "aacdca22-6266-4c0a-ab3c-8fa70a26765c",
        },
        "type": "Comment",
        "url": "https://linear.app/issue/LIN-1778/foo-bar#comment-77217de3-fb52-4dad-bb9a-b356beb93de8",
        "createdAt": "2020-01-23T12:53:18.084Z",
    }
    if timestamp_ms is not None:
        payload["webhookTimestamp"] = timestamp_ms
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


BODY = comment_body(T0 * 1000)
SIG = sign(SECRET, BODY)
HEX = SIG.hex()
COMPUTED = ("computed here: hex(HMAC-SHA256(\"SECRET\", body)); body shaped like the Comment "
            "payload in " + TEST)


def hdrs(signature=HEX, delivery=DELIVERY, timestamp=None):
    out = [("linear-signature", signature), ("linear-delivery", delivery),
           ("linear-event", "Comment")]
    if timestamp is not None:
        out.append(("linear-timestamp", str(timestamp)))
    return out


cases.add("computed vector", hdrs(), BODY, T0, ok("k1", event_id=DELIVERY),
          secrets=[("k1", SECRET)], source=COMPUTED)
cases.add("rotation, the second key matches", hdrs(), BODY, T0, ok("k2", event_id=DELIVERY),
          secrets=[("k1", OTHER), ("k2", SECRET)], source=COMPUTED)
cases.add("changed body", hdrs(), BODY.replace(b"Indeed", b"Indeeb"), T0, REJECTED,
          secrets=[("k1", SECRET)], source=COMPUTED)
cases.add("wrong key", hdrs(), BODY, T0, REJECTED, secrets=[("k1", OTHER)],
          source=TEST + ", \"incorrect signature, should fail verification\"")
cases.add("exactly at the tolerance, past", hdrs(), BODY, T0 + 60, ok("k1", event_id=DELIVERY),
          secrets=[("k1", SECRET)], source=COMPUTED)
cases.add("exactly at the tolerance, future", hdrs(), BODY, T0 - 60, ok("k1", event_id=DELIVERY),
          secrets=[("k1", SECRET)], source=COMPUTED)
cases.add("out of tolerance, past", hdrs(), BODY, T0 + 61, REJECTED, secrets=[("k1", SECRET)],
          source=COMPUTED)
cases.add("out of tolerance, future", hdrs(), BODY, T0 - 61, REJECTED, secrets=[("k1", SECRET)],
          source=COMPUTED)
cases.add("1000 s old", hdrs(), BODY, T0 + 1000, REJECTED, secrets=[("k1", SECRET)],
          source=TEST + ", \"correct signature, invalid timestamp should fail verification\" "
                        "(Date.now() - 1_000_000)")
cases.add("stale signed body, fresh linear-timestamp header", hdrs(timestamp=(T0 + 600) * 1000),
          BODY, T0 + 600, REJECTED, secrets=[("k1", SECRET)],
          source=HANDLER_TEST + ", \"rejects a stale signed body even when a fresh "
                                "linear-timestamp header is supplied\"")
cases.add("fresh signed body, stale linear-timestamp header", hdrs(timestamp=(T0 - 600) * 1000),
          BODY, T0, ok("k1", event_id=DELIVERY), secrets=[("k1", SECRET)],
          source=CLIENT + ": `parsedBody.webhookTimestamp ?? timestampHeader`")

NO_TS_BODY = comment_body()
NO_TS_HEX = sign(SECRET, NO_TS_BODY).hex()
cases.add("no body timestamp, fresh linear-timestamp header", hdrs(NO_TS_HEX, timestamp=T0 * 1000),
          NO_TS_BODY, T0 + 30, ok("k1", event_id=DELIVERY), secrets=[("k1", SECRET)],
          source=TEST + ", \"correct signature, string timestamp from header should pass\"")
cases.add("no body timestamp, stale linear-timestamp header",
          hdrs(NO_TS_HEX, timestamp=(T0 - 1000) * 1000), NO_TS_BODY, T0, REJECTED,
          secrets=[("k1", SECRET)],
          source=TEST + ", \"correct signature, invalid string timestamp from header should fail\"")
cases.add("no body timestamp, non-numeric linear-timestamp header",
          hdrs(NO_TS_HEX) + [("linear-timestamp", "not-a-number")], NO_TS_BODY, T0, REJECTED,
          secrets=[("k1", SECRET)],
          source=TEST + ", \"correct signature, non-numeric string timestamp should fail\"")
cases.add("no timestamp anywhere", hdrs(NO_TS_HEX), NO_TS_BODY, T0, ok("k1", event_id=DELIVERY),
          secrets=[("k1", SECRET)],
          source=TEST + ", \"correct signature, no timestamp, should pass verification\"",
          note="the SDK skips the time check when neither the body nor the header has a "
               "timestamp; Linear's deliveries always carry webhookTimestamp, so a stricter "
               "verifier may reject")

cases.add("uppercase hex", hdrs(HEX.upper()), BODY, T0, REJECTED, secrets=[("k1", SECRET)],
          note="the SDK compares hex strings byte for byte")
cases.add("sha256= prefix", hdrs("sha256=" + HEX), BODY, T0, REJECTED, secrets=[("k1", SECRET)])
cases.add("base64 where hex is expected", hdrs(base64.b64encode(SIG).decode()), BODY, T0, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("truncated signature", hdrs(HEX[:-2]), BODY, T0, REJECTED, secrets=[("k1", SECRET)])
cases.add("no signature header", [h for h in hdrs() if h[0] != "linear-signature"], BODY, T0,
          REJECTED, secrets=[("k1", SECRET)], source=CLIENT + ": 400 \"Missing webhook signature\"")

assert json.loads(BODY)["webhookTimestamp"] == T0 * 1000

write(__file__, PROVIDER, SPEC, cases)
