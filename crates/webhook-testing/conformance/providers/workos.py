#!/usr/bin/env python3
"""Writes workos.json, the signature ground truth for WorkOS webhooks.

Run it from this folder: `python3 workos.py`. Python 3.11 standard library only, so every
signature is computed independently of the Rust code under test. WorkOS's SDK tests sign with
the current clock, so there is no fixed published vector; the cases below use the SDKs'
recipe with fixed timestamps.
"""

import base64
import hashlib
import hmac

from _conformance import REJECTED, Cases, ok, write

PROVIDER = "workos"
NODE = "workos/workos-node: src/common/crypto/signature-provider.ts (SignatureProvider.verifyHeader)"
PY = "workos/workos-python: src/workos/webhooks/_verification.py (verify_header)"
GO = "workos/workos-go: webhook_verification.go (WebhookVerifier.VerifyPayload)"

SPEC = {
    "source": f"{NODE}; cross-checked with {PY} and {GO}",
    "signature_header": "workos-signature",
    "layout": "t=<unix milliseconds>, v1=<hex> (comma and one space; exactly one signature)",
    "algorithm": "hmac-sha256",
    "encoding": "hex (lowercase; the SDKs compare the hex text)",
    "signed_content": "{t}.{body} (t exactly as sent, i.e. the millisecond digits)",
    "timestamp": "header item t, Unix milliseconds",
    "tolerance_seconds": 180,
    "event_id": "body: id",
    "event_type": "body: event",
    "key_form": "raw secret text (the endpoint's webhook secret from the WorkOS dashboard), "
                "used as its UTF-8 bytes",
    "needs_url": False,
    "notes": (
        "t is in milliseconds: a verifier that reads it as seconds accepts every replay for "
        "~50 000 years. Tolerance differs between SDKs: Node rejects only t < now_ms - 180000 "
        "(past only, future unbounded); Python (abs(now - t/1000) > 180) and Go "
        "(|now - t| > 180 s) bound both directions. Exactly 180 s passes in all three. "
        "Parsing differs too: Node splits on ',' and takes the second half of each item "
        "without checking the t/v1 names; Python requires the ', ' separator (split(', ')) "
        "and strips the first 2 / 3 characters; Go splits on ',', trims spaces and matches "
        "the t and v1 names. WorkOS sends 't=<ms>, v1=<hex>', which all three accept. "
        "Node's own tests sign with t = Date.now() * 1000 (microseconds), which passes only "
        "because Node checks the past side alone."
    ),
}

cases = Cases(PROVIDER)


def tag(secret: str, content: bytes) -> bytes:
    return hmac.new(secret.encode(), content, hashlib.sha256).digest()


def sign(secret: str, t: str, body: bytes) -> str:
    return tag(secret, f"{t}.".encode() + body).hex()


def hdr(t, sig):
    return [("workos-signature", f"t={t}, v1={sig}")]


SECRET = "sk_whsec_1Jd3bY7QpT0mWfVx8LhR2nKc"
OTHER = "sk_whsec_another_endpoint_secret"
# The event shape of workos-python's tests (tests/test_webhook_verification.py, SAMPLE_EVENT),
# written compactly as WorkOS sends it.
EVENT_ID = "event_01HQ8ZK3V4X9S2M6B7N0PQRSTU"
BODY = (b'{"object":"event","id":"' + EVENT_ID.encode() + b'","event":"user.created","data":'
        b'{"object":"user","id":"user_01HQ8ZJ1E5W0Y3C4D5F6G7H8J9","email":"test@example.com",'
        b'"email_verified":true,"first_name":null,"last_name":null,"profile_picture_url":null,'
        b'"external_id":null,"last_sign_in_at":null,"created_at":"2024-01-01T00:00:00.000Z",'
        b'"updated_at":"2024-01-01T00:00:00.000Z"},"created_at":"2024-01-01T00:00:00.000Z"}')
T_MS = 1700000000123
NOW = 1700000001  # 0.877 s after t
SIG = sign(SECRET, str(T_MS), BODY)
RAW = tag(SECRET, f"{T_MS}.".encode() + BODY)
SRC = ("computed here with the SDKs' recipe: hmac-sha256(secret, f'{t_ms}.{body}')"
       ".hexdigest(); header 't=<ms>, v1=<hex>' as built by the SDKs' test helpers "
       "(workos-python _make_sig_header, workos-go buildWebhookSigHeader)")

cases.add("computed event", hdr(T_MS, SIG), BODY, NOW, ok("k1", event_id=EVENT_ID),
          secrets=[("k1", SECRET)], source=SRC)
cases.add("two keys, the second matches", hdr(T_MS, SIG), BODY, NOW, ok("k2", event_id=EVENT_ID),
          secrets=[("k1", OTHER), ("k2", SECRET)], source=SRC)
T_EDGE = 1700000000000
SIG_EDGE = sign(SECRET, str(T_EDGE), BODY)
cases.add("exactly 180 s old", hdr(T_EDGE, SIG_EDGE), BODY, 1700000180, ok("k1", event_id=EVENT_ID),
          secrets=[("k1", SECRET)], source=SRC)
cases.add("181 s old (expired)", hdr(T_EDGE, SIG_EDGE), BODY, 1700000181, REJECTED,
          secrets=[("k1", SECRET)], source=SRC)
cases.add("expired by an hour", hdr(T_MS, SIG), BODY, NOW + 3600, REJECTED,
          secrets=[("k1", SECRET)])
T_SEC = 1700000000
SIG_SEC = sign(SECRET, str(T_SEC), BODY)
cases.add("t in seconds is read as milliseconds (January 1970, expired)", hdr(T_SEC, SIG_SEC), BODY,
          T_SEC, REJECTED, secrets=[("k1", SECRET)], source=SRC)
cases.add("tampered body", hdr(T_MS, SIG), BODY.replace(b"test@example.com", b"evil@example.com"),
          NOW, REJECTED, secrets=[("k1", SECRET)])
cases.add("wrong key", hdr(T_MS, SIG), BODY, NOW, REJECTED, secrets=[("k1", OTHER)])
cases.add("timestamp changed, signature kept", hdr(T_MS + 1, SIG), BODY, NOW, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("base64 where hex is expected", hdr(T_MS, base64.b64encode(RAW).decode()), BODY, NOW,
          REJECTED, secrets=[("k1", SECRET)])
cases.add("truncated signature", hdr(T_MS, SIG[:-2]), BODY, NOW, REJECTED, secrets=[("k1", SECRET)])
cases.add("empty v1 value", hdr(T_MS, ""), BODY, NOW, REJECTED, secrets=[("k1", SECRET)],
          source="workos-node src/webhooks/webhooks.spec.ts, 'with an empty signature hash'")
cases.add("no v1 item", [("workos-signature", f"t={T_MS}")], BODY, NOW, REJECTED,
          secrets=[("k1", SECRET)],
          source=("workos-go webhook_verification_test.go, "
                  "ParseWebhookSignatureHeader('t=1234567890')"))
cases.add("empty header", [("workos-signature", "")], BODY, NOW, REJECTED, secrets=[("k1", SECRET)],
          source="workos-node src/webhooks/webhooks.spec.ts, 'with an empty header'")

write(__file__, PROVIDER, SPEC, cases)
