#!/usr/bin/env python3
"""Writes paddle.json, the signature conformance cases for Paddle Billing notifications.

Run it from any folder: `python3 paddle.py`. Standard library only: every signature is
computed here, independently of the Rust code under test. Published SDK vectors are copied
verbatim and checked against the same recipe before the file is written.

Scheme (Paddle Billing, confirmed in PaddleHQ's Node, Python and Go SDKs):
`Paddle-Signature: ts=<unix seconds>;h1=<hex>`, where h1 is the lowercase hex
HMAC-SHA256, keyed with the notification destination's secret key as text, of
`{ts}:{raw body}`.
"""

import base64
import hashlib
import hmac
import json

from _conformance import REJECTED, Cases, ok, write

PROVIDER = "paddle"
NODE_VALIDATOR = ("PaddleHQ/paddle-node-sdk (b8ee4b1): "
                  "src/notifications/helpers/webhooks-validator.ts")
NODE_TEST = ("PaddleHQ/paddle-node-sdk (b8ee4b1): "
             "src/__tests__/notifications/webhooks-validator.node.test.ts")
PY_TEST = ("PaddleHQ/paddle-python-sdk (48c8cc0): tests/Unit/Notification/test_Verifier.py")
GO_TEST = "PaddleHQ/paddle-go-sdk (7f86494): webhook_verifier_test.go"

SPEC = {
    "source": (NODE_VALIDATOR + "; PaddleHQ/paddle-python-sdk: "
               "paddle_billing/Notifications/PaddleSignature.py and Verifier.py; "
               "PaddleHQ/paddle-go-sdk: webhook_verifier.go"),
    "signature_header": "paddle-signature",
    "layout": "ts=<unix>;h1=<hex>[;h1=<hex>...]",
    "algorithm": "hmac-sha256",
    "encoding": "hex",
    "signed_content": "{ts}:{body}",
    "timestamp": "header item ts, Unix seconds",
    "tolerance_seconds": 5,
    "event_id": "body: event_id (evt_...); body: notification_id (ntf_...) names the delivery",
    "event_type": "body: event_type",
    "key_form": "raw secret text as Paddle shows it (pdl_ntfset_..., older keys pdl_ntf_...)",
    "needs_url": False,
    "notes": (
        "The three official SDKs differ in detail. Tolerance: the Node and Python SDKs reject "
        "only when now > ts + 5 (past only, a timestamp in the future passes; Python allows "
        "turning the check off); the Go SDK checks |now - ts| > tolerance and only when "
        "VerifierWithTimestampTolerance is set (no check by default), although Paddle's docs "
        "(developer.paddle.com/webhooks/about/signature-verification) say the SDK helpers "
        "enforce five seconds by default. Several h1 items: "
        "Python compares each; Node keeps only the last h1; Go accepts exactly "
        "`^ts=(\\d+);h1=([a-f0-9]{64})$`. Unknown items such as h2: Node ignores them, Python "
        "raises 'Unrecognized Paddle-Signature key', Go rejects the header. Case: every SDK "
        "compares lowercase hex (Node and Python compare strings, Go's regex is [a-f0-9]), so "
        "uppercase hex is rejected. Cases here follow the Node SDK where the SDKs disagree and "
        "say so in the case's `note`."
    ),
}

cases = Cases(PROVIDER, tolerance=SPEC["tolerance_seconds"], scheme=PROVIDER)


def tag(key: str, content: bytes) -> bytes:
    return hmac.new(key.encode(), content, hashlib.sha256).digest()


def sign(key: str, ts: int, body: bytes) -> str:
    return tag(key, f"{ts}:".encode() + body).hex()


def hdr(value):
    return [("paddle-signature", value)]


# --- Go SDK vector: a real price.created notification ---------------------------------
GO_SECRET = "pdl_ntfset_01hsdn8d43dt7mezr1ef2jtbaw_hKkRiCGyyRhbFwIUuqiTBgI7gnWoV0Gr"
GO_TS = 1_710_929_255
GO_SIG = "ts=1710929255;h1=6c05ef8fa83c44d751be6d259ec955ce5638e2c54095bf128e408e2fce1589c8"
GO_BODY = (b'{"data":{"id":"pri_01hsdn96k2hxjzsq5yerecdj9j","name":null,"status":"active",'
           b'"quantity":{"maximum":999999,"minimum":1},"tax_mode":"account_setting",'
           b'"product_id":"pro_01hsdn8qp7yydry3x1yeg6a9rv","unit_price":{"amount":"1000",'
           b'"currency_code":"USD"},"custom_data":null,"description":"testing",'
           b'"import_meta":null,"trial_period":null,"billing_cycle":{"interval":"month",'
           b'"frequency":1},"unit_price_overrides":[]},"event_id":"evt_01hsdn97563968dy0szkmgjwh3",'
           b'"event_type":"price.created","occurred_at":"2024-03-20T10:07:35.590857Z",'
           b'"notification_id":"ntf_01hsdn977e920kbgzt6r6c9rqc"}')
GO_EVENT = "evt_01hsdn97563968dy0szkmgjwh3"
go_h1 = sign(GO_SECRET, GO_TS, GO_BODY)
assert f"ts={GO_TS};h1={go_h1}" == GO_SIG
assert json.loads(GO_BODY)["event_id"] == GO_EVENT

cases.add("published Go SDK vector", hdr(GO_SIG), GO_BODY, GO_TS + 1,
          ok("k1", event_id=GO_EVENT, timestamp=GO_TS), secrets=[("k1", GO_SECRET)],
          source=GO_TEST + ", TestVerifier_Verify \"valid signature\"")
cases.add("rotation, the second key matches", hdr(GO_SIG), GO_BODY, GO_TS + 1,
          ok("k2", event_id=GO_EVENT, timestamp=GO_TS),
          secrets=[("k1", "pdl_ntfset_01hsdn8d43dt7mezr1ef2jtbaw_old"),
                   ("k2", GO_SECRET)], source=GO_TEST)
cases.add("Go SDK vector, body replaced", hdr(GO_SIG), b"{}", GO_TS + 1, REJECTED,
          secrets=[("k1", GO_SECRET)], source=GO_TEST + ", \"invalid payload\"")
cases.add("Go SDK vector, wrong key", hdr(GO_SIG), GO_BODY, GO_TS + 1, REJECTED,
          secrets=[("k1", "abc")], source=GO_TEST + ", \"invalid secret key\"")
cases.add("Go SDK vector, body with a trailing newline", hdr(GO_SIG), GO_BODY + b"\n", GO_TS + 1,
          REJECTED, secrets=[("k1", GO_SECRET)])
cases.add("base64 where hex is expected",
          hdr(f"ts={GO_TS};h1=" + base64.b64encode(bytes.fromhex(go_h1)).decode()), GO_BODY,
          GO_TS + 1, REJECTED, secrets=[("k1", GO_SECRET)])
cases.add("truncated signature", hdr(f"ts={GO_TS};h1={go_h1[:-2]}"), GO_BODY, GO_TS + 1, REJECTED,
          secrets=[("k1", GO_SECRET)])
cases.add("uppercase hex", hdr(f"ts={GO_TS};h1={go_h1.upper()}"), GO_BODY, GO_TS + 1, REJECTED,
          secrets=[("k1", GO_SECRET)],
          note="every Paddle SDK compares lowercase hex: Node and Python compare strings, Go's "
               "regex is [a-f0-9]{64}")
cases.add("items in the other order", hdr(f"h1={go_h1};ts={GO_TS}"), GO_BODY, GO_TS + 1,
          ok("k1", event_id=GO_EVENT, timestamp=GO_TS), secrets=[("k1", GO_SECRET)],
          note="Node and Python read key=value items in any order; the Go SDK's regex requires "
               "ts first")
cases.add("timestamp changed, signature kept", hdr(f"ts={GO_TS + 1};h1={go_h1}"), GO_BODY,
          GO_TS + 1, REJECTED, secrets=[("k1", GO_SECRET)])

# --- Node SDK vectors ------------------------------------------------------------------
NODE_SECRET = "VALID_SECRET"
NODE_TS = 1_698_796_800  # 2023-11-01T00:00:00Z, the test's faked clock
NODE_BODY = b'{"data": ["1", "2"]}'
NODE_SIG = "ts=1698796800;h1=a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9"
node_h1 = sign(NODE_SECRET, NODE_TS, NODE_BODY)
assert f"ts={NODE_TS};h1={node_h1}" == NODE_SIG
NODE_MULTI_BODY = b'{"data": "value"}'
NODE_MULTI_SIG = ("ts=1698796800;h1=28981e941fae76e53db32f3d2a83cb69db41476595e84e1970a1b5d98f62b261;"
                  "h1=28981e941fae76e53db32f3d2a83cb69db41476595e84e1970a1b5d98f62b261;h2=RANDOM_HASH")
assert sign(NODE_SECRET, NODE_TS, NODE_MULTI_BODY) == NODE_MULTI_SIG.split(";")[1][3:]

cases.add("published Node SDK vector", hdr(NODE_SIG), NODE_BODY, NODE_TS,
          ok("k1", timestamp=NODE_TS), secrets=[("k1", NODE_SECRET)],
          source=NODE_TEST + ", \"Valid signature\"")
cases.add("Node SDK vector, 1 s later", hdr(NODE_SIG), NODE_BODY, NODE_TS + 1,
          ok("k1", timestamp=NODE_TS), secrets=[("k1", NODE_SECRET)],
          source=NODE_TEST + ", \"Validates signature with correct TS within 5 seconds\"")
cases.add("Node SDK vector, exactly at the tolerance", hdr(NODE_SIG), NODE_BODY, NODE_TS + 5,
          ok("k1", timestamp=NODE_TS), secrets=[("k1", NODE_SECRET)],
          source=NODE_TEST + ", \"Validates signature at max allowed time at 5 seconds\"")
cases.add("Node SDK vector, out of tolerance", hdr(NODE_SIG), NODE_BODY, NODE_TS + 6, REJECTED,
          secrets=[("k1", NODE_SECRET)],
          source=NODE_TEST + ", \"Will reject if current time is more than 5seconds\"")
cases.add("Node SDK vector, days later", hdr(NODE_SIG), NODE_BODY, NODE_TS + 4 * 86_400, REJECTED,
          secrets=[("k1", NODE_SECRET)],
          source=NODE_TEST + ", \"Will reject if current time is more than a few days\"")
cases.add("Node SDK vector, wrong key", hdr(NODE_SIG), NODE_BODY, NODE_TS, REJECTED,
          secrets=[("k1", "INVALID_VALID_SECRET")], source=NODE_TEST + ", \"Invalid secret\"")
cases.add("Node SDK vector, body with more spaces", hdr(NODE_SIG), b'{ "data": [ "1", "2" ]}',
          NODE_TS, REJECTED, secrets=[("k1", NODE_SECRET)],
          source=NODE_TEST + ", \"Invalid data - has more space\"")
cases.add("Node SDK vector, old timestamp in the header", hdr(f"ts=9876;h1={node_h1}"), NODE_BODY,
          NODE_TS, REJECTED, secrets=[("k1", NODE_SECRET)],
          source=NODE_TEST + ", \"Invalid timestamp\"")
cases.add("several h1 items and an unknown h2", hdr(NODE_MULTI_SIG), NODE_MULTI_BODY, NODE_TS,
          ok("k1", timestamp=NODE_TS), secrets=[("k1", NODE_SECRET)],
          source=NODE_TEST + ", \"Valid signature with multiple hashes\"",
          note="Node SDK: accepted (unknown items ignored). The Python SDK raises on h2 and the Go "
               "SDK's regex rejects the header")
cases.add("no ts item", hdr("h1=invalid_header"), NODE_BODY, NODE_TS, REJECTED,
          secrets=[("k1", NODE_SECRET)], source=NODE_TEST + ", \"validate header - Missing TS\"")
cases.add("no h1 item", hdr("ts=1234;h2=invalid_header"), NODE_BODY, NODE_TS, REJECTED,
          secrets=[("k1", NODE_SECRET)], source=NODE_TEST + ", \"validate header - Missing H1\"")
cases.add("neither item", hdr("invalid_header"), NODE_BODY, NODE_TS, REJECTED,
          secrets=[("k1", NODE_SECRET)],
          source=NODE_TEST + ", \"validate header - Missing TS and H1\"")
cases.add("no signature header", [], NODE_BODY, NODE_TS, REJECTED, secrets=[("k1", NODE_SECRET)])

# --- Python SDK vectors ----------------------------------------------------------------
PY_SIG = ("ts=1696195954;h1=dummy;"
          "h1=d96299976a6eb066f484d7fde011ac56fc32b38fc9940bc419d6e537fdc6ef02")
PY_TS = 1_696_195_954
PY_BODY = b"hello-world"
PY_SECRETS = [
    ("k1", "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_TjIG2BXbm83HPXqNfziwe506sBEdqL/4"),
    ("k2", "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_vB/yIOnTOCWIvpBadM5jzBZPHc7OmdSo"),
    ("k3", "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_WvRO0eL4Bj9rgYYIBZY6wZhG4EHy9jzh"),
]
assert sign(PY_SECRETS[2][1], PY_TS, PY_BODY) == PY_SIG.rsplit("h1=", 1)[1]
assert all(sign(s, PY_TS, PY_BODY) != PY_SIG.rsplit("h1=", 1)[1] for _, s in PY_SECRETS[:2])

cases.add("published Python SDK vector, three keys, the third matches", hdr(PY_SIG), PY_BODY, PY_TS,
          ok("k3", timestamp=PY_TS), secrets=PY_SECRETS,
          source=PY_TEST + ", test_validate_paddle_signature_header_integrity",
          note="the first h1 is the placeholder `dummy`: the Python SDK compares each h1 and "
               "passes; the Node SDK keeps only the last h1 (the valid one) and passes; the Go "
               "SDK's regex rejects the header")

PY_SPECIAL_SECRET = "pdl_ntfset_01hs0t3tw21j988db1pam5xg8m_GrOWLNef+vmtjJYq4mSnHNzvc8uWoJ1I"
PY_SPECIAL_TS = 1_710_498_288
PY_SPECIAL_SIG = ("ts=1710498288;"
                  "h1=38219b3ba1578184e625c29d201a27cd25bd69e2ec9c3ab87dcb90d87ff73a41")
# tests/Unit/Notification/_fixtures/special_chars_payload.json, stripped as the test does.
PY_SPECIAL_BODY = (
    rb'{"data":{"id":"ctm_01hs0t94g83hs5jdw282ztqa4z","name":"\u00dc\u00c4\u00c5\u00e5\u00d6'
    rb'\u00dc\u00c4\u00c5\u00e5\u00d6","email":"blackhole+verification1@paddle.com",'
    rb'"locale":"en","status":"active","created_at":"2024-03-15T10:24:48.136Z",'
    rb'"updated_at":"2024-03-15T10:24:48.136Z","custom_data":null,"import_meta":null,'
    rb'"marketing_consent":false},"event_id":"evt_01hs0t94tjvtv62azjmkbeysz7",'
    rb'"event_type":"customer.created","occurred_at":"2024-03-15T10:24:48.466759Z",'
    rb'"notification_id":"ntf_01hs0t94ws0ay8keh5t4rq70ht"}')
assert len(PY_SPECIAL_BODY) == 510
assert sign(PY_SPECIAL_SECRET, PY_SPECIAL_TS, PY_SPECIAL_BODY) == PY_SPECIAL_SIG.split("h1=")[1]

cases.add("published Python SDK vector, escaped non-ASCII names", hdr(PY_SPECIAL_SIG),
          PY_SPECIAL_BODY, PY_SPECIAL_TS,
          ok("k1", event_id="evt_01hs0t94tjvtv62azjmkbeysz7", timestamp=PY_SPECIAL_TS),
          secrets=[("k1", PY_SPECIAL_SECRET)],
          source=PY_TEST + ", test_validate_payload_body_integrity \"Special characters payload\" "
                 "(fixture _fixtures/special_chars_payload.json, stripped)")

# --- Computed: a UTF-8 body -------------------------------------------------------------
UTF8_BODY = '{"event_id":"evt_utf8","event_type":"customer.updated","data":{"name":"Zoë Ünal"}}'
UTF8_BODY = UTF8_BODY.encode("utf-8")
UTF8_TS = 1_700_000_000
cases.add("raw UTF-8 body, computed", hdr(f"ts={UTF8_TS};h1={sign(GO_SECRET, UTF8_TS, UTF8_BODY)}"),
          UTF8_BODY, UTF8_TS + 2, ok("k1", event_id="evt_utf8", timestamp=UTF8_TS),
          secrets=[("k1", GO_SECRET)],
          source="computed here: HMAC-SHA256 over the UTF-8 bytes of `{ts}:{body}`")

write(__file__, PROVIDER, SPEC, cases)
