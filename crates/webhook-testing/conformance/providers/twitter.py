#!/usr/bin/env python3
"""Writes twitter.json: X's (Twitter's) webhook signature scheme and conformance cases.

Run it from anywhere: `python3 twitter.py`. Python 3.11 standard library only. X
publishes no vector with its key, so every signature is computed here, independently
of the Rust code under test, with the recipe of X's docs and its autohook library.
"""

import base64
import hashlib
import hmac
import json

from _conformance import REJECTED, Cases, ok, write

PROVIDER = "twitter"
cases = Cases(PROVIDER)


# --- The recipe ----------------------------------------------------------------------


def tag(consumer_secret: str, message: str) -> bytes:
    return hmac.new(consumer_secret.encode(), message.encode(), hashlib.sha256).digest()


def sign(consumer_secret: str, body: str) -> str:
    """sha256= and base64 HMAC-SHA256 of the raw body (docs quickstart, autohook index.js)."""
    return "sha256=" + base64.b64encode(tag(consumer_secret, body)).decode()


def crc_response(consumer_secret: str, crc_token: str) -> dict:
    """The CRC answer: the same recipe over the crc_token (autohook validateWebhook)."""
    return {"response_token": sign(consumer_secret, crc_token)}


HEADER = "x-twitter-webhooks-signature"


def headers(*pairs):
    return list(pairs) + [("content-type", "application/json")]


SOURCE = ("xdevplatform/docs: x-api/webhooks/quickstart.mdx (3. Securing webhooks); "
          "xdevplatform/autohook: index.js (validateSignature)")
T0 = 1_700_000_000
SECRET = "Xv1cDnNjRq0m2Lk9tQYz8bWfHs3eGaPu4oJiK7lE5dC6rT0yZx"
K1 = [("k1", SECRET)]
BODY = ('{"for_user_id":"2244994945","tweet_create_events":[{"created_at":"Tue Nov 14 22:13:20 '
        '+0000 2023","id_str":"1724567890123456789","text":"@XDevelopers hello — ünïcode",'
        '"user":{"id_str":"6253282","screen_name":"example"}}]}')
SIG = sign(SECRET, BODY)
CRC_TOKEN = "challenge_string"
CRC = crc_response(SECRET, CRC_TOKEN)

cases.add("an Account Activity delivery", headers((HEADER, SIG)), BODY, T0, ok("k1"), secrets=K1,
          source=SOURCE)
cases.add("rotation: the second consumer secret matches", headers((HEADER, SIG)), BODY, T0,
          ok("k2"),
          secrets=[("k1", "previous-consumer-secret-000000000000000000000000"), ("k2", SECRET)],
          source=SOURCE)
cases.add("tampered body", headers((HEADER, SIG)), BODY.replace("hello", "hullo"), T0, REJECTED,
          secrets=K1, source=SOURCE)
cases.add("wrong key", headers((HEADER, SIG)), BODY, T0, REJECTED,
          secrets=[("k1", "previous-consumer-secret-000000000000000000000000")], source=SOURCE)
cases.add("hex where base64 is expected", headers((HEADER, "sha256=" + tag(SECRET, BODY).hex())),
          BODY, T0, REJECTED, secrets=K1, source=SOURCE)
cases.add("truncated signature", headers((HEADER, SIG[:-4])), BODY, T0, REJECTED, secrets=K1,
          source=SOURCE)
cases.add("base64 without the sha256= prefix", headers((HEADER, SIG.removeprefix("sha256="))), BODY,
          T0, REJECTED, secrets=K1, source=SOURCE)
cases.add("a CRC response token is not a body signature", headers((HEADER, CRC["response_token"])),
          BODY, T0, REJECTED, secrets=K1, source=SOURCE)
cases.add("no signature header", headers(), BODY, T0, REJECTED, secrets=K1)

write(__file__, PROVIDER, {
    "source": SOURCE + " (validateWebhook for the CRC)",
    "signature_header": "x-twitter-webhooks-signature",
    "layout": "sha256=<base64>",
    "algorithm": "hmac-sha256",
    "encoding": "base64",
    "signed_content": "{body}",
    "timestamp": "none",
    "tolerance_seconds": None,
    "event_id": ("none per delivery (body: for_user_id, then event arrays such as "
                 "tweet_create_events[].id_str, direct_message_events[].id)"),
    "event_type": "body: the name of the event array present (tweet_create_events, ...)",
    "key_form": "raw consumer secret (API key secret) text of the X app",
    "needs_url": False,
    "handshake": (
        "CRC: GET {webhook}?crc_token=<token> on registration (POST /2/webhooks), on PUT "
        "/2/webhooks/:id and periodically (the v2 quickstart says hourly, the v2 introduction "
        "every 30 min once not validated for 24 h). Answer 200 with JSON {\"response_token\": "
        "\"sha256=\" + base64(HMAC-SHA256(consumer secret, crc_token))} (the older v1.1 docs: "
        "within 3 s). Example: "
        f"consumer secret {SECRET!r}, crc_token {CRC_TOKEN!r} -> {json.dumps(CRC)}."),
    "notes": (
        "No official SDK verifies deliveries: the recipe is X's docs (quickstart, 'Signature "
        "verification') and xdevplatform/autohook, which compares with crypto.timingSafeEqual "
        "(it throws on a length mismatch, caught by its caller). autohook also calls "
        "validateSignature on CRC GETs with the query string as body, a bug, not a rule. The "
        "CRC answer uses the delivery key and format, so an unauthenticated GET "
        "?crc_token=<any text> returns a valid delivery signature for that text: a CRC "
        "endpoint is a signing oracle unless the receiver restricts what it answers (e.g. "
        "refuse tokens that are not short opaque strings). The webhook URL may not contain a "
        "port (docs). A third-party project mentions an x-twitter-webhooks-signature-oauth2 "
        "header; X's docs do not."),
}, cases)
