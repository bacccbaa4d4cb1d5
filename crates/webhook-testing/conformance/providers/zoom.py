#!/usr/bin/env python3
"""Writes zoom.json: Zoom webhook signatures (x-zm-signature), with conformance cases.

Run it from any folder: `python3 zoom.py` (Python 3.11 standard library). Zoom publishes no
vector with its secret, so every case is computed here with HMAC-SHA256.

The scheme, as zoom/rivet-javascript (CommonHttpRequest.isEventVerified, e.g. in
meetings/meetings.mjs) and zoom/webhook-sample (index.js) implement it:
    message   = "v0:" + x-zm-request-timestamp + ":" + body
    signature = "v0=" + hex(HMAC-SHA256(secret token, message)) in x-zm-signature
    key       = the app's Secret Token (its text is the HMAC key)
"""

import base64
import hashlib
import hmac

from _conformance import REJECTED, Cases, body, ok, write

PROVIDER = "zoom"
RIVET = ("zoom/rivet-javascript: CommonHttpRequest (isEventVerified, parseHeaders, "
         "processEvent, hashUrlValidationEvent), bundled in meetings/meetings.mjs and the other "
         "product modules")
SAMPLE = "zoom/webhook-sample: index.js"
DOCS = "https://developers.zoom.us/docs/api/webhooks/ (Verify webhook events, Validate your "\
       "webhook endpoint)"
COMPUTED = "computed here with the SDK's recipe: HMAC-SHA256 over v0:{ts}:{body}, hex, v0="
POLICY = "; the SDK enforces no tolerance: 300 s is receiver policy"
TOLERANCE = 300
SIG_HEADER = "x-zm-signature"
TS_HEADER = "x-zm-request-timestamp"

SPEC = {
    "source": f"{RIVET}; {SAMPLE}; docs: {DOCS}",
    "signature_header": "x-zm-signature",
    "timestamp_header": "x-zm-request-timestamp",
    "layout": "v0=<64 lowercase hex characters>",
    "algorithm": "hmac-sha256",
    "encoding": "hex",
    "signed_content": "v0:{timestamp}:{body}",
    "timestamp": "header x-zm-request-timestamp, Unix seconds (decimal text)",
    "tolerance_seconds": None,
    "event_id": ("none: Zoom sends no delivery id; the body has event and event_ts (Unix "
                 "milliseconds)"),
    "event_type": "body: event (meeting.started, endpoint.url_validation, ...)",
    "key_form": "the app's Secret Token, raw text (used as the HMAC key as is)",
    "needs_url": False,
    "notes": (
        "Rivet and the sample check no timestamp age: tolerance is receiver policy, so every "
        "case carries `tolerance` 300. Both SDK and sample sign JSON.stringify(parsed body), "
        "not the raw bytes; Zoom sends compact JSON so the two agree, but a receiver should "
        "HMAC the raw body (a re-serialised body breaks on any whitespace or key-order "
        "difference). Rivet also rebuilds the timestamp as Number(header).toString(), and "
        "compares the whole `v0=<hex>` string with ===, so it refuses uppercase hex; the cases "
        "here use lowercase hex only. Rivet throws only when both headers are missing; with "
        "one missing the comparison simply fails. "
        "Handshake (endpoint.url_validation): when the endpoint URL is saved, and every 72 "
        "hours, Zoom POSTs a signed body {\"event\": \"endpoint.url_validation\", \"payload\": "
        "{\"plainToken\": \"...\"}, \"event_ts\": ...}; Rivet verifies x-zm-signature first, "
        "then answers 200 with Content-Type application/json and body {\"plainToken\": "
        "<plainToken>, \"encryptedToken\": hex(HMAC-SHA256(secret token, plainToken))}, "
        "within 3 seconds. "
        "Other headers (zoom/webhook-sample README): x-zm-trackingid (a tracking id, not "
        "documented as stable across retries), clientid, and the legacy authorization "
        "verification token. The timestamp's unit is not stated in the SDK or sample; the "
        "values seen in public tests (e.g. 1688752773) are Unix seconds, while the body's "
        "event_ts is in milliseconds."
    ),
}

SECRET = "zoom-webhook-secret-token-k1"
OTHER = "zoom-webhook-secret-token-k2"
TS = "1700000000"
NOW = 1_700_000_005
EVENT = (b'{"event":"meeting.started","payload":{"account_id":"AAAAAAAAAAAAAAAAAAAAAA",'
         b'"object":{"id":"85746065432","uuid":"4444AAAiAAAAAiAiAiiAii==","host_id":'
         b'"x1yCzABCDEfg23HiJKl4mN","topic":"My Meeting","type":2,"start_time":'
         b'"2023-11-14T22:13:20Z","timezone":"America/Los_Angeles","duration":60}},'
         b'"event_ts":1700000000123}')
PLAIN_TOKEN = "qgg8vlvZRS6UYooatFL8Aw"
VALIDATION = (b'{"payload":{"plainToken":"' + PLAIN_TOKEN.encode()
              + b'"},"event_ts":1700000000456,"event":"endpoint.url_validation"}')


def tag(secret, timestamp, body_bytes):
    return hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body_bytes,
                    hashlib.sha256).digest()


def headers(signature, timestamp=TS):
    return [(SIG_HEADER, signature), (TS_HEADER, timestamp)]


def signed(secret, body_bytes, timestamp=TS):
    return headers("v0=" + tag(secret, timestamp, body_bytes).hex(), timestamp)


TAG = tag(SECRET, TS, EVENT)
SIG = "v0=" + TAG.hex()

cases = Cases(PROVIDER, COMPUTED, tolerance=TOLERANCE)
k1 = {"secrets": [("k1", SECRET)]}

cases.add("meeting.started", headers(SIG), EVENT, NOW, ok("k1"), **k1)
cases.add("endpoint.url_validation, answered with the hashed token", signed(SECRET, VALIDATION),
          VALIDATION, NOW, ok("k1"), **k1,
          handshake_response={
              "status": 200, "content_type": "application/json",
              "body": {"plainToken": PLAIN_TOKEN,
                       "encryptedToken": hmac.new(SECRET.encode(), PLAIN_TOKEN.encode(),
                                                  hashlib.sha256).hexdigest()}})
cases.add("two keys, the second matches", signed(OTHER, EVENT), EVENT, NOW, ok("k2"),
          secrets=[("k1", SECRET), ("k2", OTHER)])
cases.add("timestamp exactly at the tolerance", headers(SIG), EVENT, int(TS) + TOLERANCE,
          ok("k1"), **k1, source=COMPUTED + POLICY)

cases.add("tampered body", headers(SIG), EVENT.replace(b"My Meeting", b"My Meetinh"), NOW,
          REJECTED, **k1)
cases.add("wrong key", headers(SIG), EVENT, NOW, REJECTED, secrets=[("k1", OTHER)])
cases.add("timestamp header changed after signing", headers(SIG, str(int(TS) + 1)), EVENT, NOW,
          REJECTED, **k1)
cases.add("expired timestamp", headers(SIG), EVENT, int(TS) + TOLERANCE + 1, REJECTED, **k1,
          source=COMPUTED + POLICY)
cases.add("timestamp in the future", headers(SIG), EVENT, int(TS) - TOLERANCE - 1, REJECTED,
          **k1, source=COMPUTED + POLICY)
cases.add("base64 where hex is expected", headers("v0=" + base64.b64encode(TAG).decode()),
          EVENT, NOW, REJECTED, **k1)
cases.add("truncated signature", headers(SIG[:-2]), EVENT, NOW, REJECTED, **k1)
cases.add("hex without the v0= prefix", headers(TAG.hex()), EVENT, NOW, REJECTED, **k1)
cases.add("signature over the body alone",
          headers("v0=" + hmac.new(SECRET.encode(), EVENT, hashlib.sha256).hexdigest()), EVENT,
          NOW, REJECTED, **k1)
cases.add("no timestamp header", [(SIG_HEADER, SIG)], EVENT, NOW, REJECTED, **k1)
cases.add("no signature header", [(TS_HEADER, TS)], EVENT, NOW, REJECTED, **k1)


def verifies(secret, signature, timestamp, body_bytes):
    """Rivet's recipe, over the raw body: `v0=` + hex HMAC, compared as a string."""
    return hmac.compare_digest(signature, "v0=" + tag(secret, timestamp, body_bytes).hex())


# Every valid case verifies with the key it names; no rejected case verifies within the
# tolerance with any key it lists.
for entry in cases.entries:
    hdrs = dict(entry["headers"])
    sig, ts = hdrs.get(SIG_HEADER, ""), hdrs.get(TS_HEADER, "")
    keys = dict((k["key_id"], k["secret"]) for k in entry["secrets"])
    if entry["expect"]["outcome"] == "ok":
        assert verifies(keys[entry["expect"]["key_id"]], sig, ts, body(entry)), entry["name"]
    else:
        fresh = ts.isdigit() and abs(entry["now"] - int(ts)) <= TOLERANCE
        assert not (fresh and any(verifies(k, sig, ts, body(entry)) for k in keys.values()))

write(__file__, PROVIDER, SPEC, cases)
