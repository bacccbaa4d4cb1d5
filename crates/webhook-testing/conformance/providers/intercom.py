#!/usr/bin/env python3
"""Writes intercom.json, the signature conformance cases for Intercom webhook notifications.

Run it from any folder: `python3 intercom.py`. Standard library only: every signature is
computed here, independently of the Rust code under test.

Scheme (Intercom's developer docs, "Webhook models" > "Signed notifications"; Intercom's SDKs
have no verification helper): `X-Hub-Signature: sha1=<hex>`, the hex HMAC-SHA1 of the raw JSON
body keyed with the app's `client_secret` (Basic Info page of the app) as text. Nothing else
is signed: no timestamp, no id.

The docs' example request shows `sha1=21ff2e149e0fdcac6f947740f6177f6434bda921` but not the
secret behind it, so it is no usable vector; its body is reused here with a computed signature.
"""

import base64
import hashlib
import hmac
import json

from _conformance import REJECTED, Cases, ok, write

PROVIDER = "intercom"
DOCS = ("Intercom developer docs, \"Webhook models\", section \"Signed notifications\" "
        "(https://developers.intercom.com/docs/references/webhooks/webhook-models)")
SAMPLES = ("intercom-archive/intercom-webhooks (Intercom's sample receivers): node/index.js, "
           "python/flask/webhook_flask.py")

SPEC = {
    "source": DOCS + "; " + SAMPLES,
    "signature_header": "x-hub-signature",
    "layout": "sha1=<hex>",
    "algorithm": "hmac-sha1",
    "encoding": "hex",
    "signed_content": "{body}",
    "timestamp": "none signed (body: created_at and first_sent_at, Unix seconds, are not "
                 "checked by anything Intercom publishes)",
    "tolerance_seconds": None,
    "event_id": "body: id (notif_...)",
    "event_type": "body: topic",
    "key_form": "raw secret text: the app's client_secret (a UUID-like string)",
    "needs_url": False,
    "notes": (
        "No official SDK verifies Intercom webhooks (intercom/intercom-node is a generated REST "
        "client); the docs and Intercom's archived sample receivers are the only sources. The "
        "samples compare `'sha1=' + hexdigest` with the header as strings, so lowercase hex is "
        "what Intercom sends. Older API v1 docs (intercom-developer-hub.readme.io) key the HMAC "
        "with a per-subscription `hub_secret` instead of the app's client_secret; the scheme is "
        "otherwise the same. The header name is the one GitHub uses for its legacy SHA-1 "
        "signature and Bitbucket Cloud uses for SHA-256, so the prefix, not the header, names "
        "the algorithm. No timestamp is signed: replay protection needs the body id."
    ),
}

cases = Cases(PROVIDER, scheme=PROVIDER)


def sign(key: str, body: bytes) -> bytes:
    return hmac.new(key.encode(), body, hashlib.sha1).digest()


SECRET = "0b6c1f36-4d2e-4a4f-9e0a-7c1d2b3a4f5e"  # shaped like a client_secret
OTHER = "5f4e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c"
T0 = 1_700_000_000
# The docs' example notification, as printed (two-space indent, " : " separators).
BODY = b'''{
  "type" : "notification_event",
  "id" : "notif_78c122d0-23ba-11e4-9464-79b01267cc2e",
  "topic" : "user.created",
  "app_id" : "a86dr8yl",
  "data" : {
    "type" : "notification_event_data",
    "item" : {
      "type" : "user",
      "id" : "530370b477ad7120001d",
      "user_id" : "25",
      "name" : "Joe Example",
      "unsubscribed_from_emails" : false,
      "custom_attributes" : {}
    }
  }
}'''
EVENT = "notif_78c122d0-23ba-11e4-9464-79b01267cc2e"
assert json.loads(BODY)["id"] == EVENT
TAG = sign(SECRET, BODY)
HEX = TAG.hex()
assert len(HEX) == 40
COMPUTED = ("computed here: 'sha1=' + hex(HMAC-SHA1(client_secret, body)); body is the example "
            "notification in " + DOCS)


def hdrs(value):
    return [("x-hub-signature", value), ("user-agent", "intercom-parrot-service-client/1.0")]


cases.add("computed vector over the docs' example body", hdrs("sha1=" + HEX), BODY, T0,
          ok("k1", event_id=EVENT), secrets=[("k1", SECRET)], source=COMPUTED)
cases.add("rotation, the second key matches", hdrs("sha1=" + HEX), BODY, T0,
          ok("k2", event_id=EVENT), secrets=[("k1", OTHER), ("k2", SECRET)], source=COMPUTED)
cases.add("changed body", hdrs("sha1=" + HEX), BODY.replace(b"Joe", b"Jim"), T0, REJECTED,
          secrets=[("k1", SECRET)], source=COMPUTED)
cases.add("body re-serialised without spaces", hdrs("sha1=" + HEX),
          json.dumps(json.loads(BODY), separators=(",", ":")).encode(), T0, REJECTED,
          secrets=[("k1", SECRET)], source=COMPUTED)
cases.add("wrong key", hdrs("sha1=" + HEX), BODY, T0, REJECTED, secrets=[("k1", OTHER)],
          source=COMPUTED)
cases.add("the docs' example signature (its secret is not published)",
          hdrs("sha1=21ff2e149e0fdcac6f947740f6177f6434bda921"), BODY, T0, REJECTED,
          secrets=[("k1", SECRET)], source=DOCS)
cases.add("an old notification still verifies (nothing time-bound is signed)", hdrs("sha1=" + HEX),
          BODY, T0 + 30 * 86_400, ok("k1", event_id=EVENT), secrets=[("k1", SECRET)],
          source=COMPUTED)
cases.add("hex without the sha1= prefix", hdrs(HEX), BODY, T0, REJECTED, secrets=[("k1", SECRET)])
cases.add("sha256= prefix with the SHA-1 hex", hdrs("sha256=" + HEX), BODY, T0, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("sha256= prefix with an HMAC-SHA256",
          hdrs("sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()), BODY, T0,
          REJECTED, secrets=[("k1", SECRET)],
          note="Intercom signs with SHA-1 only; a verifier must not switch algorithm on "
               "the prefix it receives")
cases.add("base64 where hex is expected", hdrs("sha1=" + base64.b64encode(TAG).decode()), BODY, T0,
          REJECTED, secrets=[("k1", SECRET)])
cases.add("truncated signature", hdrs("sha1=" + HEX[:-2]), BODY, T0, REJECTED,
          secrets=[("k1", SECRET)])
cases.add("no signature header", [("user-agent", "intercom-parrot-service-client/1.0")], BODY, T0,
          REJECTED, secrets=[("k1", SECRET)])

write(__file__, PROVIDER, SPEC, cases)
