#!/usr/bin/env python3
"""Writes twilio.json: Twilio's webhook signature scheme and conformance cases.

Run it from anywhere: `python3 twilio.py`. Python 3.11 standard library only. The
signatures are computed here, independently of the Rust code under test; the
published vectors from Twilio's SDK tests are copied verbatim and checked against
this file's recipe before anything is written.
"""

import base64
import hashlib
import hmac
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from _conformance import REJECTED, Cases, ok, write

PROVIDER = "twilio"
cases = Cases(PROVIDER, method="POST")


# --- The recipe ----------------------------------------------------------------------


def signed_content(url: str, form: list[tuple[str, str]]) -> str:
    """The URL, then each parameter name followed by its value: names sorted, a
    repeated name's values sorted and de-duplicated (request_validator.py)."""
    values: dict[str, set[str]] = {}
    for name, value in form:
        values.setdefault(name, set()).add(value)
    out = url
    for name in sorted(values):
        for value in sorted(values[name]):
            out += name + value
    return out


def sign(token: str, url: str, form: list[tuple[str, str]]) -> str:
    mac = hmac.new(token.encode(), signed_content(url, form).encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def raw_tag(token: str, url: str, form: list[tuple[str, str]]) -> bytes:
    return hmac.new(token.encode(), signed_content(url, form).encode(), hashlib.sha1).digest()


def with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.hostname}:{port}"))


FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
T0 = 1_700_000_000

# --- Published vectors: twilio/twilio-python tests/unit/test_request_validator.py ------
SDK = "twilio/twilio-python: tests/unit/test_request_validator.py"
TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
BODY_JSON = '{"property": "value", "boolean": true}'
BODY_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
URL_WITH_BODY = URL + "&bodySHA256=" + BODY_HASH
JSON_SIG = "a9nBmqA0ju/hNViExpshrM61xv4="
DUPLICATE_BODY = "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234"
DUPLICATE_EXPECTED = "IK+Dwps556ElfBT0I3Rgjkr1wJU="
HTTPS_443_EXPECTED = "kvajT1Ptam85bY51eRf/AJRuM3w="
HTTP_1234_EXPECTED = "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="
HTTP_80_EXPECTED = "0ZXoZLH/DfblKGATFgpif+LLRf4="

# The form body Twilio would post for PARAMS (the test passes the parsed dict).
FORM_BODY = urlencode(list(PARAMS.items()))
FORM_PAIRS = parse_qsl(FORM_BODY, keep_blank_values=True)
assert sign(TOKEN, URL, FORM_PAIRS) == EXPECTED
assert sign(TOKEN, URL, parse_qsl(DUPLICATE_BODY)) == DUPLICATE_EXPECTED
assert sign(TOKEN, with_port(URL, 443), FORM_PAIRS) == HTTPS_443_EXPECTED
HTTP_URL = URL.replace("https", "http")
assert sign(TOKEN, with_port(HTTP_URL, 1234), FORM_PAIRS) == HTTP_1234_EXPECTED
assert sign(TOKEN, with_port(HTTP_URL, 80), FORM_PAIRS) == HTTP_80_EXPECTED
assert hashlib.sha256(BODY_JSON.encode()).hexdigest() == BODY_HASH
assert sign(TOKEN, URL_WITH_BODY, []) == JSON_SIG


def form_headers(sig):
    return [("x-twilio-signature", sig), ("content-type", FORM)]


def json_headers(sig):
    return [("x-twilio-signature", sig), ("content-type", JSON_TYPE)]


K1 = [("k1", TOKEN)]
cases.add("published SDK vector (form parameters)", form_headers(EXPECTED), FORM_BODY, T0, ok("k1"),
          secrets=K1, url=URL, source=SDK + ": test_compute_signature, test_validation")
cases.add("published SDK vector: a repeated parameter's values are sorted and de-duplicated",
          form_headers(DUPLICATE_EXPECTED), DUPLICATE_BODY, T0, ok("k1"), secrets=K1, url=URL,
          source=SDK + ": test_compute_signature_duplicate_query_dict")
cases.add("published SDK vector: signed with :443, received without a port",
          form_headers(HTTPS_443_EXPECTED), FORM_BODY, T0, ok("k1"), secrets=K1, url=URL,
          source=SDK + ": test_validation_adds_port_on_https")
cases.add("published SDK vector: signed without a port, received on https port 1234",
          form_headers(EXPECTED), FORM_BODY, T0, ok("k1"), secrets=K1, url=with_port(URL, 1234),
          source=SDK + ": test_validation_removes_port_on_https")
cases.add("published SDK vector: http, signed and received with port 1234",
          form_headers(HTTP_1234_EXPECTED), FORM_BODY, T0, ok("k1"), secrets=K1,
          url=with_port(HTTP_URL, 1234), source=SDK + ": test_validation_removes_port_on_http")
cases.add("published SDK vector: http, signed with :80, received without a port",
          form_headers(HTTP_80_EXPECTED), FORM_BODY, T0, ok("k1"), secrets=K1, url=HTTP_URL,
          source=SDK + ": test_validation_adds_port_on_http")
cases.add("published SDK vector (JSON body, bodySHA256 in the URL)", json_headers(JSON_SIG),
          BODY_JSON, T0, ok("k1"), secrets=K1, url=URL_WITH_BODY,
          source=SDK + ": test_validation_of_body_succeeds")

# --- Published vectors: twilio/twilio-node spec/validation.spec.js ------------------------
NODE = "twilio/twilio-node: spec/validation.spec.js"
EMPTY_HASH = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
EMPTY_SIG = "Ldidvp12m26NI7eqEvxnEpkd9Hc="
SHORT_URL = "https://mycompany.com/myapp.php?bodySHA256=" + BODY_HASH
SHORT_SIG = "y77kIzt2vzLz71DgmJGsen2scGs="
CREDS_URL = "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2"
CREDS_SIG = "CukzLTc1tT5dXEDIHm/tKBanW10="
SPECIAL_URL = URL + "&Body=It's+amazing"
SPECIAL_SIG = "TfZzewPq8wqrGlMfyAud8+/IvJ0="
ARRAY_SIG = "83O6e2vORAoJHUNzJjDWN1jz+BA="
ARRAY_BODY = "MessagingBinding.Address=%2B1415xxxxxxx&MessagingBinding.Address=%2B1325xxxxxxx"
assert hashlib.sha256(b"{}").hexdigest() == EMPTY_HASH
assert sign(TOKEN, with_port(URL, 443) + "&bodySHA256=" + EMPTY_HASH, []) == EMPTY_SIG
assert sign(TOKEN, SHORT_URL, []) == SHORT_SIG
assert sign(TOKEN, CREDS_URL, FORM_PAIRS) == CREDS_SIG
# Signed over the URL as new URL() serialises it: ' in the query becomes %27. Python's
# urlparse keeps ', so twilio-python would refuse this request.
assert sign(TOKEN, SPECIAL_URL, FORM_PAIRS) != SPECIAL_SIG
assert sign(TOKEN, SPECIAL_URL.replace("'", "%27"), FORM_PAIRS) == SPECIAL_SIG
assert sign(TOKEN, URL, parse_qsl(ARRAY_BODY)) == ARRAY_SIG

cases.add("published SDK vector: JSON body {} signed with :443", json_headers(EMPTY_SIG), "{}", T0,
          ok("k1"), secrets=K1, url=URL + "&bodySHA256=" + EMPTY_HASH,
          source=NODE + ": should validate request body when empty")
cases.add("published SDK vector: bodySHA256 is the only query parameter", json_headers(SHORT_SIG),
          BODY_JSON, T0, ok("k1"), secrets=K1, url=SHORT_URL,
          source=NODE + ": should validate request body with only sha param")
cases.add("published SDK vector: user and password in the URL are signed", form_headers(CREDS_SIG),
          FORM_BODY, T0, ok("k1"), secrets=K1, url=CREDS_URL,
          source=NODE + ": should validate urls with credentials")
cases.add("published SDK vector: ' in the query string is signed as %27 (twilio-node only)",
          form_headers(SPECIAL_SIG), FORM_BODY, T0, ok("k1"), secrets=K1, url=SPECIAL_URL,
          source=NODE + ": should validate urls with special characters")
cases.add("published SDK vector: a repeated parameter's values are sorted", form_headers(ARRAY_SIG),
          ARRAY_BODY, T0, ok("k1"), secrets=K1, url=URL,
          source=NODE + ": should validate request body with an array parameter")

# --- Computed cases -------------------------------------------------------------------
shuffled = "&".join(reversed(FORM_BODY.split("&")))
cases.add("form parameters in another order verify the same", form_headers(EXPECTED), shuffled, T0,
          ok("k1"), secrets=K1, url=URL, source=SDK)
SMS_URL = "https://example.com/webhooks/twilio/sms"
SMS_BODY = ("MessageSid=SM0123456789abcdef0123456789abcdef&AccountSid=AC0123456789abcdef0123456"
            "789abcdef&From=%2B15005550006&To=%2B15005550001&Body=Hello+world%21+%C3%A4%C3%B6"
            "%C3%A5&NumMedia=0&Empty=")
SMS_PAIRS = parse_qsl(SMS_BODY, keep_blank_values=True)
assert ("Body", "Hello world! äöå") in SMS_PAIRS and ("Empty", "") in SMS_PAIRS
SMS_TOKEN = "0123456789abcdef0123456789abcdef"
SMS_SIG = sign(SMS_TOKEN, SMS_URL, SMS_PAIRS)
cases.add("form values are URL-decoded before signing (+ is a space, UTF-8, empty value kept)",
          form_headers(SMS_SIG), SMS_BODY, T0, ok("k1"), secrets=[("k1", SMS_TOKEN)], url=SMS_URL)
cases.add("rotation: the second token matches", form_headers(EXPECTED), FORM_BODY, T0, ok("k2"),
          secrets=[("k1", "secondary-auth-token-0000000000"), ("k2", TOKEN)], url=URL, source=SDK)
cases.add("tampered form parameter", form_headers(EXPECTED), FORM_BODY.replace("Digits=1234",
          "Digits=1235"), T0, REJECTED, secrets=K1, url=URL, source=SDK)
cases.add("an added form parameter", form_headers(EXPECTED), FORM_BODY + "&Extra=1", T0, REJECTED,
          secrets=K1, url=URL, source=SDK)
cases.add("wrong key", form_headers(EXPECTED), FORM_BODY, T0, REJECTED, secrets=[("k1", "54321")],
          url=URL, source=SDK)
cases.add("another URL path", form_headers(EXPECTED), FORM_BODY, T0, REJECTED, secrets=K1,
          url=URL.replace("/myapp.php", "/other.php"), source=SDK)
cases.add("another query string", form_headers(EXPECTED), FORM_BODY, T0, REJECTED, secrets=K1,
          url=URL.replace("foo=1", "foo=3"), source=SDK)
cases.add("tampered JSON body (bodySHA256 no longer matches)", json_headers(JSON_SIG),
          BODY_JSON.replace("value", "other"), T0, REJECTED, secrets=K1, url=URL_WITH_BODY,
          source=SDK)
tampered_json = BODY_JSON.replace("value", "other")
cases.add("tampered JSON body with bodySHA256 rewritten to match (the URL is signed)",
          json_headers(JSON_SIG), tampered_json, T0, REJECTED, secrets=K1,
          url=URL + "&bodySHA256=" + hashlib.sha256(tampered_json.encode()).hexdigest(), source=SDK)
cases.add("hex where base64 is expected", form_headers(raw_tag(TOKEN, URL, FORM_PAIRS).hex()),
          FORM_BODY, T0, REJECTED, secrets=K1, url=URL, source=SDK)
cases.add("truncated signature", form_headers(EXPECTED[:-4]), FORM_BODY, T0, REJECTED, secrets=K1,
          url=URL, source=SDK)
cases.add("HMAC-SHA256 where HMAC-SHA1 is expected", form_headers(base64.b64encode(hmac.new(
              TOKEN.encode(), signed_content(URL, FORM_PAIRS).encode(),
              hashlib.sha256).digest()).decode()),
          FORM_BODY, T0, REJECTED, secrets=K1, url=URL, source=SDK)
cases.add("no signature header", [("content-type", FORM)], FORM_BODY, T0, REJECTED, secrets=K1,
          url=URL)

write(__file__, PROVIDER, {
    "source": ("twilio/twilio-python: twilio/request_validator.py (RequestValidator."
               "compute_signature, validate); twilio/twilio-node: src/webhooks/webhooks.ts "
               "(getExpectedTwilioSignature, validateRequest, validateRequestWithBody)"),
    "signature_header": "x-twilio-signature",
    "layout": "<base64>",
    "algorithm": "hmac-sha1",
    "encoding": "base64",
    "signed_content": (
        "form body (application/x-www-form-urlencoded): {url}{name}{value}... where url is the "
        "full URL Twilio requested (scheme, host, path, query string as configured) and the "
        "POST parameters follow with names sorted, each name followed by each of its values, "
        "a repeated name's values sorted and de-duplicated; names and values are URL-decoded. "
        "JSON body (the URL carries bodySHA256): {url} alone, and bodySHA256 must equal "
        "lowercase hex SHA-256 of the raw body. GET webhooks: {url} alone (parameters are in "
        "the query string)."),
    "timestamp": "none",
    "tolerance_seconds": None,
    "event_id": "none in the scheme (body parameters CallSid / MessageSid name the resource)",
    "event_type": "none (implied by which URL is called; CallStatus / MessageStatus parameters)",
    "key_form": "raw Auth Token text (the account's primary Auth Token, 32 hex characters)",
    "needs_url": True,
    "handshake": "none",
    "notes": (
        "Both SDKs accept a signature made over the URL with or without the port: they try the "
        "URL with any port removed and the URL with the scheme's default port added (:443 / "
        ":80; an explicit port is kept). Both remove any port, not only the default one, so a "
        "request to https://host:1234/... verifies with a signature made over https://host/.... "
        "twilio-node signs the URL as new URL() serialises it (WHATWG: ' in the query becomes "
        "%27, user:pass@ is kept) and additionally retries with the query string re-serialised "
        "by Node's legacy querystring module; twilio-python signs the URL text as given, so "
        "the node-only vector with ' fails there. User info in the URL is signed. Parameter ordering: Python sorts str by code point, Node sorts UTF-16 code "
        "units; equal for the BMP. The JSON variant: validateRequestWithBody signs the URL with "
        "no parameters and compares bodySHA256 (hex) with the raw body's SHA-256. There is no "
        "timestamp, so no replay protection. Key rotation: Twilio signs with the primary Auth "
        "Token only; a promoted secondary token must be added before the swap. Twilio docs (a "
        "2026 twilio-node example, not in the stored SDK source) describe Webhook Rules that "
        "sign with a SharedKey and HMAC_SHA256 instead, announced by an "
        "X-Twilio-Webhooks-Signature-Settings: key=...,algorithm=HMAC_SHA256 header; the signed "
        "content is unchanged. No CRC/challenge handshake."),
}, cases)
