#!/usr/bin/env python3
"""Writes mux.json, the signature ground truth for Mux webhooks.

Run it from this folder: `python3 mux.py`. Python 3.11 standard library only, so every
signature is computed independently of the Rust code under test. The two published vectors
from Mux's Node SDK tests are copied verbatim and checked against the recipe below.
"""

import base64
import hashlib
import hmac

from _conformance import REJECTED, Cases, ok, write

PROVIDER = "mux"
SDK = "muxinc/mux-node-sdk"
SDK_FILE = "src/resources/webhooks/webhooks.ts (Webhooks.verifySignature)"
TEST_FILE = ("tests/api-resources/webhooks.test.ts at commit "
             "28c52da6473c4b9e99077442697874241f2b2b76 (the file was dropped from the tree in "
             "release 14.0.0; the current verifySignature keeps the same parsing, recipe and 300 s check)")

SPEC = {
    "source": f"{SDK}: {SDK_FILE}; docs https://docs.mux.com/guides/verify-webhook-signatures",
    "signature_header": "mux-signature",
    "layout": "t=<unix seconds>,v1=<hex>[,v1=<hex>...] (items split on ',', key and value on "
              "'='; items with other keys such as v2 are ignored)",
    "algorithm": "hmac-sha256",
    "encoding": "hex (lowercase; the SDK compares the hex text, so uppercase hex does not match)",
    "signed_content": "{t}.{body}",
    "timestamp": "header item t, Unix seconds",
    "tolerance_seconds": 300,
    "event_id": "body: id",
    "event_type": "body: type",
    "key_form": "raw secret text (the webhook signing secret from the Mux dashboard), used as "
                "its UTF-8 bytes",
    "needs_url": False,
    "notes": (
        "The SDK only rejects timestamps older than 300 s (now - t > 300); a timestamp in the "
        "future is not bounded. Age exactly 300 s passes. The signature is checked before the "
        "timestamp. Any one of several v1 items may match. A header without t, or with no v1 "
        "item, is rejected. The SDK requires the raw body as a string; it signs "
        "`${t}.${body}` as UTF-8. No docs/SDK disagreement found."
    ),
}

cases = Cases(PROVIDER)


def tag(secret: str, content: bytes) -> bytes:
    return hmac.new(secret.encode(), content, hashlib.sha256).digest()


def sign(secret: str, t: int, body: bytes) -> str:
    return tag(secret, f"{t}.".encode() + body).hex()


# Published vectors: Mux's Node SDK tests (copied verbatim).
PUB_SECRET = "SuperSecret123"
PUB_T = 1565125718
PUB_BODY = b'{"test":"body"}'
PUB_HASH = "854ece4c22acef7c66b57d4e504153bc512595e8e9c772ece2a68150548c19a7"
PUB2_BODY = b'{"test":{"nested":{"nanos":718234, "seconds":1691711005}}}'
PUB2_HASH = "bd315c24bce1c2b8ad325696f26530c8ef7d7d830afb7c1381903705d04607be"
assert sign(PUB_SECRET, PUB_T, PUB_BODY) == PUB_HASH
assert sign(PUB_SECRET, PUB_T, PUB2_BODY) == PUB2_HASH
PUB_SRC = f"{SDK}, {TEST_FILE}"


def hdr(value):
    return [("mux-signature", value)]


cases.add("published SDK vector", hdr(f"t={PUB_T},v1={PUB_HASH}"), PUB_BODY, PUB_T,
          ok("k1", timestamp=PUB_T), secrets=[("k1", PUB_SECRET)],
          source=PUB_SRC + ", 'verifySignature should pass for valid signature'")
cases.add("second published SDK vector (unwrap_times)", hdr(f"t={PUB_T},v1={PUB2_HASH}"), PUB2_BODY,
          PUB_T, ok("k1", timestamp=PUB_T), secrets=[("k1", PUB_SECRET)],
          source=PUB_SRC + ", 'unwrap_times deserializes the payload object'")
cases.add("several v1 items, the second valid", hdr(f"t={PUB_T},v1=invalid-sig,v1={PUB_HASH}"),
          PUB_BODY, PUB_T, ok("k1", timestamp=PUB_T), secrets=[("k1", PUB_SECRET)],
          source=PUB_SRC + ", 'should pass for multiple signatures'")
cases.add("a v2 item before the valid v1 item is ignored",
          hdr(f"t={PUB_T},v2={PUB_HASH},v1={PUB_HASH}"), PUB_BODY, PUB_T, ok("k1", timestamp=PUB_T),
          secrets=[("k1", PUB_SECRET)],
          source=PUB_SRC + ", 'should pass for multiple signatures with different version'")
cases.add("only a v2 item", hdr(f"t={PUB_T},v2={PUB_HASH}"), PUB_BODY, PUB_T, REJECTED,
          secrets=[("k1", PUB_SECRET)],
          source=PUB_SRC + ", 'should throw for different signature version'")
cases.add("no t item", hdr(PUB_HASH), PUB_BODY, PUB_T, REJECTED, secrets=[("k1", PUB_SECRET)],
          source=PUB_SRC + ", 'should throw if signature timestamp is missing'")
cases.add("six minutes old", hdr(f"t={PUB_T},v1={PUB_HASH}"), PUB_BODY, PUB_T + 360, REJECTED,
          secrets=[("k1", PUB_SECRET)],
          source=PUB_SRC + ", 'should throw for timestamp outside threshold'")
cases.add("exactly 300 s old", hdr(f"t={PUB_T},v1={PUB_HASH}"), PUB_BODY, PUB_T + 300,
          ok("k1", timestamp=PUB_T), secrets=[("k1", PUB_SECRET)], source=PUB_SRC)
cases.add("301 s old", hdr(f"t={PUB_T},v1={PUB_HASH}"), PUB_BODY, PUB_T + 301, REJECTED,
          secrets=[("k1", PUB_SECRET)], source=PUB_SRC)

# Computed cases, with a realistic event body.
SECRET = "mux-whsec-5c1d8e0a7f4b4f7e9a2d"
OTHER = "mux-whsec-another-endpoint-key"
T = 1700000000
EVENT_ID = "3a56ac3d-33da-4366-855b-f592d898409d"
BODY = (b'{"type":"video.asset.ready","object":{"type":"asset","id":"0201p02fGKPE7MrbC269XRD7Lp'
        b'cHhrmbu0002"},"id":"' + EVENT_ID.encode() + b'","environment":{"name":"Production",'
        b'"id":"j0863n"},"data":{"status":"ready","id":"0201p02fGKPE7MrbC269XRD7LpcHhrmbu0002"},'
        b'"created_at":"2023-11-14T22:13:20.000000Z","attempts":[],"accessor_source":null,'
        b'"accessor":null,"request_id":null}')
SIG = sign(SECRET, T, BODY)
RAW = tag(SECRET, f"{T}.".encode() + BODY)
COMPUTED = ("computed here: hmac-sha256(secret, f'{t}.{body}').hexdigest(), the recipe that "
            "reproduces the published SDK vectors")

cases.add("computed event", hdr(f"t={T},v1={SIG}"), BODY, T + 2,
          ok("k1", event_id=EVENT_ID, timestamp=T), secrets=[("k1", SECRET)], source=COMPUTED)
cases.add("two keys, the second matches", hdr(f"t={T},v1={SIG}"), BODY, T + 2,
          ok("k2", event_id=EVENT_ID, timestamp=T), secrets=[("k1", OTHER), ("k2", SECRET)],
          source=COMPUTED)
cases.add("tampered body", hdr(f"t={T},v1={SIG}"),
          BODY.replace(b'"status":"ready"', b'"status":"errored"'), T + 2, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("wrong key", hdr(f"t={T},v1={SIG}"), BODY, T + 2, REJECTED, secrets=[("k1", OTHER)])
cases.add("timestamp changed, signature kept", hdr(f"t={T + 1},v1={SIG}"), BODY, T + 2, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("expired", hdr(f"t={T},v1={SIG}"), BODY, T + 301, REJECTED, secrets=[("k1", SECRET)])
cases.add("base64 where hex is expected", hdr(f"t={T},v1={base64.b64encode(RAW).decode()}"), BODY,
          T + 2, REJECTED, secrets=[("k1", SECRET)])
cases.add("truncated signature", hdr(f"t={T},v1={SIG[:-2]}"), BODY, T + 2, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("empty v1 item", hdr(f"t={T},v1="), BODY, T + 2, REJECTED, secrets=[("k1", SECRET)])
cases.add("no signature header", [], BODY, T + 2, REJECTED, secrets=[("k1", SECRET)])

write(__file__, PROVIDER, SPEC, cases)
