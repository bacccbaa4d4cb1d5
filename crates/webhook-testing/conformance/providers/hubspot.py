#!/usr/bin/env python3
"""Writes hubspot.json: HubSpot's v3 request signature and conformance cases.

Run it from anywhere: `python3 hubspot.py`. Python 3.11 standard library only. The
signatures are computed here, independently of the Rust code under test; the
published vector from HubSpot's SDK tests is copied verbatim and checked against
this file's recipe before anything is written.
"""

import base64
import hashlib
import hmac

from _conformance import REJECTED, Cases, ok, write

PROVIDER = "hubspot"
cases = Cases(PROVIDER, method="POST")


# --- The recipe ----------------------------------------------------------------------


def tag(secret: str, method: str, url: str, body: str, timestamp: str) -> bytes:
    """HMAC-SHA256 over method + URI + body + timestamp text (hubspot/utils/signature.py)."""
    content = f"{method}{url}{body}{timestamp}"
    return hmac.new(secret.encode(), content.encode(), hashlib.sha256).digest()


def sign(secret, method, url, body, timestamp) -> str:
    return base64.b64encode(tag(secret, method, url, body, timestamp)).decode()


def headers(sig, timestamp):
    out = []
    if sig is not None:
        out.append(("x-hubspot-signature-v3", sig))
    if timestamp is not None:
        out.append(("x-hubspot-request-timestamp", timestamp))
    out.append(("content-type", "application/json"))
    return out


# --- Published vector: HubSpot/hubspot-api-python tests/spec/utils/test_signature.py ---
SDK = "HubSpot/hubspot-api-python: tests/spec/utils/test_signature.py"
SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
BODY = "{'example_field':'example_value'}"
URL = "https://www.example.com/webhook_uri"
TS = "1693657560000"
SIG = "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y="
assert sign(SECRET, "POST", URL, BODY, TS) == SIG
TS_S = int(TS) // 1000

K1 = [("k1", SECRET)]
cases.add("published SDK vector", headers(SIG, TS), BODY, TS_S + 10, ok("k1", timestamp=TS_S),
          secrets=K1, url=URL, source=SDK + ": test_get_signature__v3")

# --- Computed cases -------------------------------------------------------------------
# A realistic delivery: a JSON array of events, a query string on the target URL.
APP_SECRET = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
EV_URL = "https://example.com/webhooks/hubspot?portal=62515&v=3"
EV_TS = "1700000000123"
EV_S = int(EV_TS) // 1000
EV_BODY = ('[{"eventId":1813471034,"subscriptionId":2305731,"portalId":62515,"appId":54321,'
           '"occurredAt":1699999999000,"subscriptionType":"contact.propertyChange",'
           '"attemptNumber":0,"objectId":123,"propertyName":"email",'
           '"propertyValue":"jörg@example.com","changeSource":"CRM"}]')
EV_SIG = sign(APP_SECRET, "POST", EV_URL, EV_BODY, EV_TS)
EK = [("k1", APP_SECRET)]
cases.add("a batch of events to a URL with a query string (UTF-8 body)", headers(EV_SIG, EV_TS),
          EV_BODY, EV_S + 2, ok("k1", timestamp=EV_S), secrets=EK, url=EV_URL)
cases.add("rotation: the second client secret matches", headers(EV_SIG, EV_TS), EV_BODY, EV_S + 2,
          ok("k2", timestamp=EV_S), secrets=[("k1", SECRET), ("k2", APP_SECRET)], url=EV_URL)
cases.add("299 seconds old is inside the 5-minute window", headers(EV_SIG, EV_TS), EV_BODY,
          EV_S + 299, ok("k1", timestamp=EV_S), secrets=EK, url=EV_URL)
cases.add("expired: 301 seconds old", headers(EV_SIG, EV_TS), EV_BODY, EV_S + 301, REJECTED,
          secrets=EK, url=EV_URL)
cases.add("published SDK vector: expired a day later", headers(SIG, TS), BODY, TS_S + 86400,
          REJECTED, secrets=K1, url=URL, source=SDK)
cases.add("tampered body", headers(EV_SIG, EV_TS), EV_BODY.replace("jörg", "jorg"), EV_S + 2,
          REJECTED, secrets=EK, url=EV_URL)
cases.add("wrong key", headers(EV_SIG, EV_TS), EV_BODY, EV_S + 2, REJECTED,
          secrets=[("k1", SECRET)], url=EV_URL)
cases.add("another method (the method is signed)", headers(EV_SIG, EV_TS), EV_BODY, EV_S + 2,
          REJECTED, secrets=EK, url=EV_URL, method="PUT")
cases.add("another query string (the URL is signed)", headers(EV_SIG, EV_TS), EV_BODY, EV_S + 2,
          REJECTED, secrets=EK, url=EV_URL.replace("v=3", "v=4"))
cases.add("another timestamp header than the signed one", headers(EV_SIG, str(int(EV_TS) + 1000)),
          EV_BODY, EV_S + 2, REJECTED, secrets=EK, url=EV_URL)
secs = str(EV_S)
cases.add("timestamp in seconds (read as milliseconds it is in 1970)",
          headers(sign(APP_SECRET, "POST", EV_URL, EV_BODY, secs), secs), EV_BODY, EV_S + 2,
          REJECTED, secrets=EK, url=EV_URL)
cases.add("hex where base64 is expected",
          headers(tag(APP_SECRET, "POST", EV_URL, EV_BODY, EV_TS).hex(), EV_TS), EV_BODY, EV_S + 2,
          REJECTED, secrets=EK, url=EV_URL)
cases.add("truncated signature", headers(EV_SIG[:-4], EV_TS), EV_BODY, EV_S + 2, REJECTED,
          secrets=EK, url=EV_URL)
cases.add("no timestamp header", headers(EV_SIG, None), EV_BODY, EV_S + 2, REJECTED, secrets=EK,
          url=EV_URL)
cases.add("no signature header", headers(None, EV_TS), EV_BODY, EV_S + 2, REJECTED, secrets=EK,
          url=EV_URL)
v1 = hashlib.sha256((APP_SECRET + EV_BODY).encode()).hexdigest()
cases.add("only the legacy v1 signature", [("x-hubspot-signature", v1),
          ("x-hubspot-signature-version", "v1"), ("x-hubspot-request-timestamp", EV_TS),
          ("content-type", "application/json")], EV_BODY, EV_S + 2, REJECTED, secrets=EK,
          url=EV_URL)

write(__file__, PROVIDER, {
    "source": ("HubSpot/hubspot-api-python: hubspot/utils/signature.py (Signature.is_valid, "
               "get_signature, v3); HubSpot/hubspot-api-nodejs: src/utils/signature.ts"),
    "signature_header": "x-hubspot-signature-v3",
    "layout": "<base64>",
    "algorithm": "hmac-sha256",
    "encoding": "base64",
    "signed_content": ("{method}{url}{body}{timestamp}: the HTTP method, the full request URL "
                       "(scheme, host, path, query string), the raw body (empty if none) and "
                       "the x-hubspot-request-timestamp header text, concatenated, UTF-8"),
    "timestamp": "header x-hubspot-request-timestamp, Unix milliseconds",
    "tolerance_seconds": 300,
    "event_id": ("none per request: the body is a JSON array (a batch of up to 100 events), "
                 "each with eventId (a number)"),
    "event_type": "body: each event's subscriptionType",
    "key_form": "raw app client secret text (UUID-shaped)",
    "needs_url": True,
    "handshake": "none",
    "notes": (
        "Tolerance is one-sided in both SDKs: Python rejects when now - floor(ts/1000) s is not "
        "< 300 s, Node when now_ms - ts > 300000; a timestamp in the future is accepted by both "
        "(no case encodes that). The timestamp text is signed as sent, so it must be used "
        "verbatim, not re-formatted. Node compares the base64 text with ===, Python with "
        "hmac.compare_digest. HubSpot's docs additionally tell receivers to decode "
        "some percent-encoded characters of the URI (such as %3A, %2F, %3F, %40, %21, %24, "
        "%27, %28, %29, %2A, %2C, %3B) before signing; neither SDK does, and the stored "
        "excerpts did not show that table, so it is unconfirmed here: the cases use URLs with "
        "no percent-encoding. Requests still carry the legacy x-hubspot-signature with "
        "x-hubspot-signature-version v1 (plain SHA-256 hex of secret+body) or v2 (SHA-256 hex "
        "of secret+method+url+body): not HMACs, no timestamp."),
}, cases)
