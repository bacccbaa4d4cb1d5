#!/usr/bin/env python3
"""Writes mailgun.json: Mailgun's webhook signature scheme and conformance cases.

Run it from anywhere: `python3 mailgun.py`. Python 3.11 standard library only. The
signatures are computed here, independently of the Rust code under test; the
published vector from Mailgun's PHP SDK tests is copied verbatim and checked against
this file's recipe before anything is written. Mailgun signs no header: the signature
travels inside the body, so each case's body carries it.
"""

import base64
import hashlib
import hmac
import json
from urllib.parse import urlencode

from _conformance import REJECTED, Cases, ok, write

PROVIDER = "mailgun"
cases = Cases(PROVIDER)


# --- The recipe ----------------------------------------------------------------------


def tag(key: str, timestamp: str, token: str) -> bytes:
    """HMAC-SHA256 over the timestamp text followed by the token (webhooks.go)."""
    return hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).digest()


def sign(key, timestamp, token) -> str:
    return tag(key, timestamp, token).hex()


JSON_HEADERS = [("content-type", "application/json")]
FORM_HEADERS = [("content-type", "application/x-www-form-urlencoded")]


def json_body(signature: dict, event: dict) -> str:
    """A JSON webhook: {"signature": {...}, "event-data": {...}}, compact as Mailgun sends."""
    return json.dumps({"signature": signature, "event-data": event}, separators=(",", ":"),
                      ensure_ascii=False)


# --- Published vector: mailgun/mailgun-php tests/Api/WebhookTest.php --------------------
SDK = "mailgun/mailgun-php: tests/Api/WebhookTest.php"
KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
TS = "1403645220"
TOKEN = "5egbgr1vjgqxtrnp65xfznchgdccwh5d6i09vijqi3whgowmn6"
SIG = "9cfc5c41582e51246e73c88d34db3af0a3a2692a76fbab81492842f000256d33"
BAD_TOKEN = "owyldpe6nxhmrn78epljl6bj0orrki1u3d2v5e6cnlmmuox8jr"
assert sign(KEY, TS, TOKEN) == SIG
assert sign(KEY, TS, BAD_TOKEN) != SIG
T = int(TS)

EVENT_ID = "CPgfbmQMTCKtHW6uIWtuVe"
EVENT = {"id": EVENT_ID, "timestamp": T + 0.123456, "event": "delivered",
         "recipient": "alice@example.com",
         "message": {"headers": {"message-id": "20140624213700.1234.5678@example.com"}}}
SIGNATURE = {"token": TOKEN, "timestamp": TS, "signature": SIG}
BODY = json_body(SIGNATURE, EVENT)
K1 = [("k1", KEY)]
# The published (timestamp, token, signature) triple, placed in the body Mailgun posts.
cases.add("published SDK vector (JSON body)", JSON_HEADERS, BODY, T + 5,
          ok("k1", event_id=EVENT_ID, timestamp=T), secrets=K1,
          source=SDK + ": testVerifyWebhookGood")
FORM_BODY = urlencode([("event", "delivered"), ("recipient", "alice@example.com"),
                       ("Message-Id", "<20140624213700.1234.5678@example.com>"),
                       ("timestamp", TS), ("token", TOKEN), ("signature", SIG)])
cases.add("published SDK vector (legacy form fields)", FORM_HEADERS, FORM_BODY, T + 5,
          ok("k1", timestamp=T), secrets=K1, source=SDK + ": testVerifyWebhookGood")
cases.add("published SDK vector: another token", JSON_HEADERS,
          json_body({**SIGNATURE, "token": BAD_TOKEN}, EVENT), T + 5, REJECTED, secrets=K1,
          source=SDK + ": testVerifyWebhookBad")

# --- Computed cases -------------------------------------------------------------------
cases.add("rotation: the second signing key matches", JSON_HEADERS, BODY, T + 5,
          ok("k2", event_id=EVENT_ID, timestamp=T),
          secrets=[("k1", "key-previous0000000000000000000000"),
                   ("k2", KEY)], source=SDK)
cases.add("event-data changed: still verifies (only timestamp and token are signed)", JSON_HEADERS,
          json_body(SIGNATURE, {**EVENT, "event": "failed"}), T + 5,
          ok("k1", event_id=EVENT_ID, timestamp=T), secrets=K1, source=SDK)
cases.add("wrong key", JSON_HEADERS, BODY, T + 5, REJECTED,
          secrets=[("k1", "key-not-the-signing-key")], source=SDK)
cases.add("another timestamp than the signed one", JSON_HEADERS,
          json_body({**SIGNATURE, "timestamp": str(T + 1)}, EVENT), T + 5, REJECTED, secrets=K1,
          source=SDK)
cases.add("expired: 301 seconds old, receiver tolerance 300 s", JSON_HEADERS, BODY, T + 301,
          REJECTED, secrets=K1, source=SDK, tolerance=300)
cases.add("published SDK vector: form fields, another token", FORM_HEADERS,
          FORM_BODY.replace(TOKEN, BAD_TOKEN), T + 5, REJECTED, secrets=K1, source=SDK)
cases.add("base64 where hex is expected", JSON_HEADERS,
          json_body({**SIGNATURE, "signature": base64.b64encode(tag(KEY, TS, TOKEN)).decode()},
                    EVENT),
          T + 5, REJECTED, secrets=K1, source=SDK)
cases.add("truncated signature", JSON_HEADERS,
          json_body({**SIGNATURE, "signature": SIG[:-2]}, EVENT), T + 5, REJECTED, secrets=K1,
          source=SDK)
cases.add("token and timestamp swapped", JSON_HEADERS,
          json_body({**SIGNATURE, "signature": sign(KEY, TOKEN, TS)}, EVENT), T + 5, REJECTED,
          secrets=K1, source=SDK)
cases.add("no signature object", JSON_HEADERS,
          json.dumps({"event-data": EVENT}, separators=(",", ":")), T + 5, REJECTED, secrets=K1)
cases.add("signature object without a token", JSON_HEADERS,
          json_body({"timestamp": TS, "signature": SIG}, EVENT), T + 5, REJECTED, secrets=K1,
          source=SDK)

write(__file__, PROVIDER, {
    "source": ("mailgun/mailgun-go: webhooks.go (VerifyWebhookSignature), mtypes/webhooks.go "
               "(Signature, WebhookPayload); mailgun/mailgun-php: src/Api/Webhook.php "
               "(verifyWebhookSignature)"),
    "signature_header": None,
    "layout": ("in the body: JSON webhooks {\"signature\": {\"timestamp\": \"<unix s>\", "
               "\"token\": \"<50 chars>\", \"signature\": \"<hex>\"}, \"event-data\": {...}}; "
               "legacy form-encoded webhooks and inbound routes: form fields timestamp, token, "
               "signature"),
    "algorithm": "hmac-sha256",
    "encoding": "hex",
    "signed_content": "{timestamp}{token} (the body itself is not signed)",
    "timestamp": "body: signature.timestamp (form: timestamp), Unix seconds as text",
    "tolerance_seconds": None,
    "event_id": "body: event-data.id (the token is unique per delivery)",
    "event_type": "body: event-data.event",
    "key_form": ("raw HTTP webhook signing key text (Mailgun control panel, Webhooks; older "
                 "accounts signed with the private API key, key-...)"),
    "needs_url": False,
    "handshake": "none",
    "notes": (
        "Only timestamp and token are signed, so event-data can be changed or swapped "
        "undetected by the signature; the SDKs verify nothing else. Neither SDK checks the "
        "timestamp's age. Caching the token to refuse replays, and optionally checking the "
        "timestamp, is Mailgun's advice as quoted by third-party guides (the stored docs "
        "excerpt stops before it), so the tolerance is the receiver's choice: the expired "
        "case sets tolerance 300 explicitly. mailgun-go hex-decodes the signature "
        "(upper-case hex accepted); mailgun-php compares the lower-case hex string exactly. "
        "Events of a subaccount's domain also carry signature.parent-signature, the same "
        "recipe with the parent account's signing key (Mailgun docs, Securing Webhooks); no "
        "SDK reads it, and no case says whether a receiver holding only the parent key should "
        "accept it. Legacy webhooks post form fields (multipart/form-data when there are "
        "attachments); the event id is not a form field there."),
}, cases)
