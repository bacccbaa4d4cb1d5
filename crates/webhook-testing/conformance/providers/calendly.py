#!/usr/bin/env python3
"""Writes calendly.json, the signature conformance cases for Calendly webhooks (API v2).

Run it from any folder: `python3 calendly.py`. Standard library only: every signature is
computed here, independently of the Rust code under test.

Scheme (Calendly's developer docs, "Webhook Signatures"; Calendly ships no SDK that
verifies): `Calendly-Webhook-Signature: t=<unix seconds>,v1=<hex>`, where v1 is the hex
HMAC-SHA256, keyed with the webhook signing key as text, of `{t}.{raw body}`. The docs' sample
rejects a timestamp more than three minutes in the past.
"""

import base64
import hashlib
import hmac
import json

from _conformance import REJECTED, Cases, ok, write

PROVIDER = "calendly"
DOCS = ("Calendly developer docs, \"Webhook Signatures\" "
        "(https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures)")

SPEC = {
    "source": DOCS,
    "signature_header": "calendly-webhook-signature",
    "layout": "t=<unix>,v1=<hex>",
    "algorithm": "hmac-sha256",
    "encoding": "hex",
    "signed_content": "{t}.{body}",
    "timestamp": "header item t, Unix seconds",
    "tolerance_seconds": 180,
    "event_id": "none: no delivery or event id header; body payload.uri names the invitee "
                "(with body event, e.g. invitee.created, it identifies the event)",
    "event_type": "body: event",
    "key_form": "raw secret text: the webhook signing key (chosen by the caller when a "
                "subscription is made with a personal access token; generated per OAuth app)",
    "needs_url": False,
    "notes": (
        "No SDK source exists. The stored copy of the official page stops before its "
        "verification steps, so the details below are Calendly's sample as recalled and as "
        "summarised by third parties (hookdeck: HMAC-SHA256 hex over `{t}.{raw body}`, reject "
        "stale timestamps, 180 s): split the header on ',' then '=', keep t and v1 (a later "
        "v1 replaces an earlier one), compare hex strings, reject when t * 1000 < Date.now() - "
        "180 000 (past only; a future t passes). The sample signs t + '.' + "
        "JSON.stringify(req.body), i.e. re-serialised JSON, which matches only because "
        "Calendly sends compact JSON; sign the raw body. Several v1 items are not documented."
    ),
}

cases = Cases(PROVIDER, tolerance=SPEC["tolerance_seconds"], scheme=PROVIDER)


def sign(key: str, t: int, body: bytes) -> bytes:
    return hmac.new(key.encode(), f"{t}.".encode() + body, hashlib.sha256).digest()


SECRET = "u7Xb2kQ9vR4tY1wE6sD3fG8hJ5lP0zMa"
OTHER = "the-old-signing-key"
T = 1_700_000_000
BODY = json.dumps({
    "created_at": "2023-11-14T22:13:19.000000Z",
    "created_by": "https://api.calendly.com/users/AAAAAAAAAAAAAAAA",
    "event": "invitee.created",
    "payload": {
        "email": "zoe@example.com",
        "name": "Zoë Ünal",
        "status": "active",
        "uri": "https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2/invitees/AAAAAAAAAAAAAAAA",
        "scheduled_event": {"uri": "https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2",
                            "start_time": "2023-11-20T15:00:00.000000Z"},
    },
}, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
TAG = sign(SECRET, T, BODY)
HEX = TAG.hex()
COMPUTED = "computed here: hex(HMAC-SHA256(signing key, f\"{t}.{body}\")), per " + DOCS


def hdr(value):
    return [("calendly-webhook-signature", value)]


GOOD = hdr(f"t={T},v1={HEX}")

cases.add("computed vector", GOOD, BODY, T + 1, ok("k1", timestamp=T), secrets=[("k1", SECRET)],
          source=COMPUTED)
cases.add("rotation, the second key matches", GOOD, BODY, T + 1, ok("k2", timestamp=T),
          secrets=[("k1", OTHER), ("k2", SECRET)], source=COMPUTED)
cases.add("changed body", GOOD, BODY.replace(b"zoe@", b"zoa@"), T + 1, REJECTED,
          secrets=[("k1", SECRET)], source=COMPUTED)
cases.add("wrong key", GOOD, BODY, T + 1, REJECTED, secrets=[("k1", OTHER)], source=COMPUTED)
cases.add("exactly at the tolerance", GOOD, BODY, T + 180, ok("k1", timestamp=T),
          secrets=[("k1", SECRET)], source=COMPUTED)
cases.add("out of tolerance, past", GOOD, BODY, T + 181, REJECTED, secrets=[("k1", SECRET)],
          source=COMPUTED)
cases.add("timestamp changed, signature kept", hdr(f"t={T + 1},v1={HEX}"), BODY, T + 1, REJECTED,
          secrets=[("k1", SECRET)], source=COMPUTED)
cases.add("items in the other order", hdr(f"v1={HEX},t={T}"), BODY, T + 1, ok("k1", timestamp=T),
          secrets=[("k1", SECRET)], note="the docs' sample reads key=value items in any order")
cases.add("base64 where hex is expected", hdr(f"t={T},v1=" + base64.b64encode(TAG).decode()), BODY,
          T + 1, REJECTED, secrets=[("k1", SECRET)])
cases.add("truncated signature", hdr(f"t={T},v1={HEX[:-2]}"), BODY, T + 1, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("no t item", hdr(f"v1={HEX}"), BODY, T + 1, REJECTED, secrets=[("k1", SECRET)])
cases.add("no v1 item", hdr(f"t={T}"), BODY, T + 1, REJECTED, secrets=[("k1", SECRET)])
cases.add("Stripe-style v0 instead of v1", hdr(f"t={T},v0={HEX}"), BODY, T + 1, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("no signature header (subscription without a signing key)", [], BODY, T + 1, REJECTED,
          secrets=[("k1", SECRET)])

write(__file__, PROVIDER, SPEC, cases)
