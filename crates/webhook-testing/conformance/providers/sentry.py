#!/usr/bin/env python3
"""Writes sentry.json, the signature ground truth for Sentry integration-platform webhooks.

Run it from this folder: `python3 sentry.py`. Python 3.11 standard library only, so every
signature is computed independently of the Rust code under test. Sentry publishes no fixed
vector; the cases reproduce the sender (Sentry's own server code): the body is serialized
once, compactly with ASCII escapes, and that exact text is signed and sent.
"""

import base64
import hashlib
import hmac
import json

from _conformance import REJECTED, Cases, ok, write

PROVIDER = "sentry"

SPEC = {
    "source": ("sender: getsentry/sentry src/sentry/sentry_apps/api/serializers/"
               "app_platform_event.py (AppPlatformEvent.body and sentry_headers) with "
               "SentryApp.build_signature (hmac.new(client_secret.encode('utf-8'), "
               "body.encode('utf-8'), sha256).hexdigest()) and src/sentry/utils/json.py "
               "(dumps: simplejson, separators (',', ':'), ensure_ascii); receiver example: "
               "getsentry/integration-platform-example backend-py/src/api/middleware/"
               "verify_sentry_signature.py; docs https://docs.sentry.io/organization/"
               "integrations/integration-platform/webhooks/"),
    "signature_header": "sentry-hook-signature",
    "layout": "<hex> (the whole header value, no prefix)",
    "algorithm": "hmac-sha256",
    "encoding": "hex (lowercase)",
    "signed_content": "{body}",
    "timestamp": "header sentry-hook-timestamp, Unix seconds (str(int(time()))), NOT signed",
    "tolerance_seconds": None,
    "event_id": "header request-id (uuid4().hex, 32 hex digits without dashes)",
    "event_type": "header sentry-hook-resource (installation, event_alert, issue, "
                  "metric_alert, error, comment, ...) + body: action",
    "key_form": "raw secret text: the integration's Client Secret (64 hex digits in the "
                "dashboard), used as its UTF-8 bytes",
    "needs_url": False,
    "notes": (
        "Verify the raw body bytes. Sentry signs the exact text it sends: json.dumps of "
        "sentry.utils.json, i.e. simplejson with separators (',', ':') and ensure_ascii, so "
        "non-ASCII characters arrive as \\uXXXX escapes and floats keep Python's repr "
        "(1.0, 1e-07). The docs' snippets re-serialize a parsed body instead: the JavaScript "
        "one (JSON.stringify(request.body)) happens to match for ASCII-only bodies without "
        "such floats and fails otherwise; the Python one (json.dumps(request.body), default "
        "separators ', ' and ': ') never matches a compact body. The example app's Python "
        "receiver (maintained by Sentry) hashes request.get_data(), the raw bytes, and also "
        "accepts the legacy header name sentry-app-signature; its TypeScript receiver "
        "re-serializes and maps an empty body to ''. Sentry-Hook-Timestamp is not covered by "
        "the signature, so it cannot bound replays; nothing in Sentry's code checks it. "
        "Dedupe on request-id."
    ),
}

cases = Cases(PROVIDER)


def tag(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def sentry_dumps(value) -> bytes:
    """The text Sentry sends: compact separators, ASCII escapes (sentry.utils.json.dumps)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode()


SECRET = "4c7a3b1e9f2d8c6a5b0e7f3d2c1a9b8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a"
OTHER = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
REQUEST_ID = "6f1c2b0a9d8e4f7a8b3c2d1e0f9a8b7c"
TS = 1700000000
EVENT = {
    "action": "created",
    "installation": {"uuid": "7a485448-a9e2-4c85-8a3c-4f44175783c9"},
    "data": {"issue": {"id": "1170820242", "shortId": "MY-APP-2A", "title": "ZeroDivisionError:"
                       " division by zero", "culprit": "app.views in compute", "level": "error",
                       "status": "unresolved", "project": {"id": "1", "slug": "my-app"}}},
    "actor": {"type": "application", "id": "sentry", "name": "Sentry"},
}
BODY = sentry_dumps(EVENT)
RAW = tag(SECRET, BODY)
SIG = RAW.hex()
SRC = ("computed here the way Sentry signs: hmac-sha256(client_secret, body).hexdigest() over "
       "the compact ASCII-escaped JSON text that is also sent as the body")


def hdr(sig, resource="issue"):
    return [("request-id", REQUEST_ID), ("sentry-hook-resource", resource),
            ("sentry-hook-timestamp", str(TS)), ("sentry-hook-signature", sig)]


cases.add("computed issue.created", hdr(SIG), BODY, TS + 1, ok("k1", REQUEST_ID),
          secrets=[("k1", SECRET)], source=SRC)
cases.add("two keys, the second matches", hdr(SIG), BODY, TS + 1, ok("k2", REQUEST_ID),
          secrets=[("k1", OTHER), ("k2", SECRET)], source=SRC)

# Non-ASCII text and a float that JSON.stringify would print differently ("1.0" -> "1").
ALERT = {
    "action": "triggered",
    "installation": {"uuid": "7a485448-a9e2-4c85-8a3c-4f44175783c9"},
    "data": {"event": {"title": "Échec de paiement – café ☕", "culprit": "caisse.py",
                       "sample_rate": 1.0, "tags": [["locale", "fr-FR"]]},
             "triggered_rule": "Alerte paiements"},
    "actor": {"type": "application", "id": "sentry", "name": "Sentry"},
}
ALERT_BODY = sentry_dumps(ALERT)
assert b"\\u00c9chec" in ALERT_BODY and b'"sample_rate":1.0' in ALERT_BODY
ALERT_SIG = tag(SECRET, ALERT_BODY).hex()
REPARSED = json.dumps(json.loads(ALERT_BODY), separators=(",", ":"), ensure_ascii=False)
REPARSED = REPARSED.replace('"sample_rate":1.0', '"sample_rate":1').encode()
assert REPARSED != ALERT_BODY and tag(SECRET, REPARSED).hex() != ALERT_SIG
cases.add("escaped non-ASCII and a 1.0 float, verified over the raw bytes",
          hdr(ALERT_SIG, "event_alert"), ALERT_BODY, TS + 1, ok("k1", REQUEST_ID),
          secrets=[("k1", SECRET)],
          source=SRC + "; a verifier that re-serializes the parsed body (the docs' "
          "JSON.stringify snippet) computes over different text and fails this case")
cases.add("the same alert re-serialized the JavaScript way is not what was signed",
          hdr(ALERT_SIG, "event_alert"), REPARSED, TS + 1, REJECTED, secrets=[("k1", SECRET)],
          source=SRC)
cases.add("empty body signed as the empty string", hdr(tag(SECRET, b"").hex(), "installation"), b"",
          TS + 1, ok("k1", REQUEST_ID), secrets=[("k1", SECRET)],
          source="getsentry/integration-platform-example, backend-py/src/api/middleware/"
                 "verify_sentry_signature.py: 'Sentry sends an empty body (i.e. b'') with a "
                 "Content-Type of application/json for some requests'")
cases.add("tampered body", hdr(SIG), BODY.replace(b'"level":"error"', b'"level":"fatal"'), TS + 1,
          REJECTED, secrets=[("k1", SECRET)])
cases.add("wrong key", hdr(SIG), BODY, TS + 1, REJECTED, secrets=[("k1", OTHER)])
cases.add("base64 where hex is expected", hdr(base64.b64encode(RAW).decode()), BODY, TS + 1,
          REJECTED, secrets=[("k1", SECRET)])
cases.add("truncated signature", hdr(SIG[:-2]), BODY, TS + 1, REJECTED, secrets=[("k1", SECRET)])
cases.add("no signature header", [h for h in hdr(SIG) if h[0] != "sentry-hook-signature"], BODY,
          TS + 1, REJECTED, secrets=[("k1", SECRET)])

write(__file__, PROVIDER, SPEC, cases)
