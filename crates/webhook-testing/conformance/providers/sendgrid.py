#!/usr/bin/env python3
"""Writes sendgrid.json: SendGrid (Twilio) signed Event Webhook, with conformance cases.

Run it from any folder: `python3 sendgrid.py` (Python 3.11 and `cryptography`). The two
published SDK vectors are copied verbatim and checked here with the SDK's recipe; the other
valid cases are signed here with deterministic ECDSA (RFC 6979) under keys derived from a
label, so the file is the same on every run.

The scheme, as sendgrid/sendgrid-nodejs packages/eventwebhook/src/eventwebhook.js and
sendgrid/sendgrid-python sendgrid/helpers/eventwebhook/__init__.py implement it:
    message   = X-Twilio-Email-Event-Webhook-Timestamp (text as sent) + raw body
    signature = ECDSA P-256 over SHA-256(message), ASN.1 DER, base64, in
                X-Twilio-Email-Event-Webhook-Signature
    key       = the verification key from Mail Settings: base64 of the DER
                SubjectPublicKeyInfo (the PEM body without its armour lines)
"""

import base64
import hashlib
import json

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (decode_dss_signature,
                                                             encode_dss_signature)
from cryptography.hazmat.primitives.serialization import (Encoding, NoEncryption,
                                                          PrivateFormat, PublicFormat,
                                                          load_der_public_key)

from _conformance import REJECTED, Cases, body, ok, write

PROVIDER = "sendgrid"
SDK_NODE = "sendgrid/sendgrid-nodejs: packages/eventwebhook/src/eventwebhook.js"
SDK_PY = "sendgrid/sendgrid-python: sendgrid/helpers/eventwebhook/__init__.py"
TEST_NODE = "sendgrid/sendgrid-nodejs: packages/eventwebhook/src/eventwebhook.spec.js"
TEST_PY = "sendgrid/sendgrid-python: test/unit/test_eventwebhook.py"
COMPUTED = ("computed here with the SDK's recipe: ECDSA P-256/SHA-256 over timestamp + body, "
            "DER, base64 (RFC 6979 nonces)")
POLICY = "; the SDKs enforce no tolerance: 300 s is receiver policy"
TOLERANCE = 300
SIG_HEADER = "x-twilio-email-event-webhook-signature"
TS_HEADER = "x-twilio-email-event-webhook-timestamp"
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

SPEC = {
    "source": f"{SDK_NODE} (verifySignature); {SDK_PY} (verify_signature); vectors: "
              f"{TEST_NODE}, {TEST_PY}",
    "signature_header": "X-Twilio-Email-Event-Webhook-Signature",
    "timestamp_header": "X-Twilio-Email-Event-Webhook-Timestamp",
    "layout": "<base64 of the ASN.1 DER ECDSA signature> (no prefix, one signature)",
    "algorithm": "ecdsa-p256-sha256",
    "encoding": "base64 (DER SEQUENCE of r and s)",
    "signed_content": "{timestamp}{body}",
    "timestamp": "header X-Twilio-Email-Event-Webhook-Timestamp, Unix seconds as decimal text; "
                 "signed as sent",
    "tolerance_seconds": None,
    "event_id": ("none per delivery: the body is a JSON array of events, each with its own "
                 "sg_event_id"),
    "event_type": "body: [*].event (processed, delivered, bounce, dropped, ...), per event",
    "key_form": ("base64 of the DER SubjectPublicKeyInfo of a P-256 key, as the UI shows it "
                 "(MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE...); the Python SDK wraps it in PEM "
                 "armour, the Node SDK passes it to starkbank-ecdsa PublicKey.fromPem"),
    "private_key_form": "base64 of the DER PKCS#8 private key (SendGrid never hands one out)",
    "needs_url": False,
    "notes": (
        "Neither SDK checks the timestamp's age: tolerance is receiver policy, so every case "
        "carries `tolerance` 300. The body is signed exactly as sent, including the trailing "
        "CRLF SendGrid appends (and the CRLF between events in a batch): the published tests "
        "stress it. The SDK vectors' bodies are JSON.stringify / json.dumps(separators=(',', "
        "':')) output plus CRLF; they are embedded here as the literal bytes. Both SDKs "
        "accept any valid ECDSA signature, including the twin (r, n - s) of a valid one: neither "
        "OpenSSL (Python) nor starkbank-ecdsa (Node) enforces low S. A raw r||s signature "
        "(IEEE P1363, 64 bytes) is not DER and fails in both. The Python SDK raises on "
        "base64 it cannot decode instead of returning false. No handshake: SendGrid sends a "
        "signed test event from the UI, verified like any other delivery."
    ),
}

# --- published vectors, verbatim -----------------------------------------------------------
PUB_KEY = ("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3G"
           "Rqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==")
PUB_SIG = ("MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89"
           "M15TluLtEZtM=")
PUB_TS = "1600112502"
PUB_EVENTS = [{
    "email": "hello@world.com",
    "event": "dropped",
    "reason": "Bounced Address",
    "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
    "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
    "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
    "timestamp": 1600112492,
}]
PUB_BODY = (b'[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address",'
            b'"sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",'
            b'"sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-'
            b'5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",'
            b'"timestamp":1600112492}]\r\n')
assert PUB_BODY == (json.dumps(PUB_EVENTS, separators=(",", ":")) + "\r\n").encode()
PUB_OTHER_KEY = ("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXS"
                 "JCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA==")
PUB_BAD_SIG = ("MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRa"
               "mr2nlxFDWYNH3j/0=")

MULTI_KEY = ("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEQ4LIFtWztlsF7skFqOncjD1lun4H5w8XOhyOArHW9RcI"
             "x/FfEzx6cikC/yPfUvwaX/JScE7Fc9CJD2afQ9Ok3Q==")
MULTI_SIG = ("MEYCIQC/I4o6vCgqRYrTljjoVWB/GRWNtxeePlLMHr3x9ETeRQIhAIpV+03nREPTTHWSW0wIOA0EoMPdcNg"
             "Xa70yCaqDJlu5")
MULTI_TS = "1619651159"
MULTI_EVENTS = [
    {
        "email": "invalid@gmail.com",
        "event": "processed",
        "send_at": 0,
        "sg_event_id": "cHJvY2Vzc2VkLTE5OTQyMTEyLXFOd0JMZ1BRUWpXNkRKdktRd1NBYnctMA",
        "sg_message_id": "qNwBLgPQQjW6DJvKQwSAbw.filterdrecv-canary-547b64655b-cw6zx-1-6089EA4A-56.0",
        "smtp-id": "<qNwBLgPQQjW6DJvKQwSAbw@ismtpd0178p1mdw1.sendgrid.net>",
        "timestamp": 1619651146,
    },
    {
        "email": "invalid@gmail.com",
        "event": "bounce",
        "ip": "167.89.101.76",
        "reason": "552 5.2.2 The email account that you tried to reach is over quota and "
                  "inactive. Please direct the recipient to "
                  "https://support.google.com/mail/?p=OverQuotaPerm c17si1130468pgv.34 - gsmtp",
        "sg_event_id": "Ym91bmNlLTAtMTk5NDIxMTItcU53QkxnUFFRalc2REp2S1F3U0Fidy0w",
        "sg_message_id": "qNwBLgPQQjW6DJvKQwSAbw.filterdrecv-canary-547b64655b-cw6zx-1-6089EA4A-56.0",
        "smtp-id": "<qNwBLgPQQjW6DJvKQwSAbw@ismtpd0178p1mdw1.sendgrid.net>",
        "status": "5.2.2",
        "timestamp": 1619651147,
        "tls": 1,
        "type": "blocked",
    },
]
MULTI_BODY = (
    b'[{"email":"invalid@gmail.com","event":"processed","send_at":0,'
    b'"sg_event_id":"cHJvY2Vzc2VkLTE5OTQyMTEyLXFOd0JMZ1BRUWpXNkRKdktRd1NBYnctMA",'
    b'"sg_message_id":"qNwBLgPQQjW6DJvKQwSAbw.filterdrecv-canary-547b64655b-cw6zx-1-6089EA4A-56.0",'
    b'"smtp-id":"<qNwBLgPQQjW6DJvKQwSAbw@ismtpd0178p1mdw1.sendgrid.net>","timestamp":1619651146},'
    b'\r\n{"email":"invalid@gmail.com","event":"bounce","ip":"167.89.101.76","reason":"552 5.2.2 '
    b'The email account that you tried to reach is over quota and inactive. Please direct the '
    b'recipient to https://support.google.com/mail/?p=OverQuotaPerm c17si1130468pgv.34 - gsmtp",'
    b'"sg_event_id":"Ym91bmNlLTAtMTk5NDIxMTItcU53QkxnUFFRalc2REp2S1F3U0Fidy0w",'
    b'"sg_message_id":"qNwBLgPQQjW6DJvKQwSAbw.filterdrecv-canary-547b64655b-cw6zx-1-6089EA4A-56.0",'
    b'"smtp-id":"<qNwBLgPQQjW6DJvKQwSAbw@ismtpd0178p1mdw1.sendgrid.net>","status":"5.2.2",'
    b'"timestamp":1619651147,"tls":1,"type":"blocked"}]\r\n')
assert MULTI_BODY == ("},\r\n{".join(json.dumps(MULTI_EVENTS, separators=(",", ":")).split("},{"))
                      + "\r\n").encode()

SHA256 = ec.ECDSA(hashes.SHA256())
DETERMINISTIC = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)


def verifies(public_b64, signature_b64, timestamp, body_bytes):
    """The SDK's recipe (sendgrid-python verify_signature)."""
    try:
        key = load_der_public_key(base64.b64decode(public_b64))
        key.verify(base64.b64decode(signature_b64), timestamp.encode() + body_bytes, SHA256)
        return True
    except Exception:  # InvalidSignature, bad base64, or a signature that is not DER
        return False


assert verifies(PUB_KEY, PUB_SIG, PUB_TS, PUB_BODY)
assert verifies(MULTI_KEY, MULTI_SIG, MULTI_TS, MULTI_BODY)
assert not verifies(PUB_OTHER_KEY, PUB_SIG, PUB_TS, PUB_BODY)
assert not verifies(PUB_KEY, PUB_SIG, PUB_TS, b"payload")
assert not verifies(PUB_KEY, PUB_BAD_SIG, PUB_TS, PUB_BODY)
assert not verifies(PUB_KEY, PUB_SIG, "timestamp", PUB_BODY)


# --- computed keys ---------------------------------------------------------------------------
def key_pair(label):
    digest = hashlib.sha256(f"tower-webhook conformance {PROVIDER} {label}".encode()).digest()
    private = ec.derive_private_key(int.from_bytes(digest, "big") % P256_ORDER, ec.SECP256R1())
    public = private.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    pkcs8 = private.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    return private, base64.b64encode(public).decode(), base64.b64encode(pkcs8).decode()


K1, K1_PUB, K1_PRIV = key_pair("k1")
K2, K2_PUB, K2_PRIV = key_pair("k2")
TS = "1700000000"
NOW = 1_700_000_005
EVENTS = (b'[{"email":"example@test.com","timestamp":1699999990,"smtp-id":'
          b'"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"delivered","category":["cat facts"],'
          b'"sg_event_id":"ZGVsaXZlcmVkLTAtMjQ3NDQzMjMtYV9BTV9pN0NTRVNPLXZRSk5pY1pnQQ",'
          b'"sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",'
          b'"response":"250 OK"},\r\n{"email":"example@test.com","timestamp":1699999995,'
          b'"event":"open","sg_event_id":"b3Blbi0wLTI0NzQ0MzIzLWFfQU1faTdDU0VTTy12UUpOaWNaZ1E",'
          b'"sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",'
          b'"useragent":"Mozilla/5.0","ip":"255.255.255.255"}]\r\n')
DER = K1.sign(TS.encode() + EVENTS, DETERMINISTIC)
SIG = base64.b64encode(DER).decode()
R, S = decode_dss_signature(DER)


def headers(signature, timestamp=TS):
    return [(SIG_HEADER, signature), (TS_HEADER, timestamp)]


def signed(private, body_bytes, timestamp=TS):
    return headers(base64.b64encode(private.sign(timestamp.encode() + body_bytes,
                                                 DETERMINISTIC)).decode(), timestamp)


cases = Cases(PROVIDER, COMPUTED, tolerance=TOLERANCE)
k1 = {"public_keys": [("k1", K1_PUB)], "private_key": K1_PRIV}

pub_source = f"{TEST_NODE} and {TEST_PY}"
cases.add("published SDK vector, one event", headers(PUB_SIG, PUB_TS), PUB_BODY, int(PUB_TS),
          ok("k1"), public_keys=[("k1", PUB_KEY)],
          source=pub_source + ": `should verify a valid single event signature` / "
                              "`test_verify_valid_signature`")
cases.add("published SDK vector, two events", headers(MULTI_SIG, MULTI_TS), MULTI_BODY,
          int(MULTI_TS), ok("k1"), public_keys=[("k1", MULTI_KEY)],
          source=TEST_NODE + ": `should verify a valid multi event signature`")
cases.add("published vector, the second key matches", headers(PUB_SIG, PUB_TS), PUB_BODY,
          int(PUB_TS), ok("k2"), public_keys=[("k1", PUB_OTHER_KEY), ("k2", PUB_KEY)],
          source=pub_source + " (both keys are the tests')")
cases.add("published SDK vector, wrong key", headers(PUB_SIG, PUB_TS), PUB_BODY, int(PUB_TS),
          REJECTED, public_keys=[("k1", PUB_OTHER_KEY)],
          source=pub_source + ": `should reject for invalid key` / `test_verify_bad_key`")
cases.add("published SDK vector, other body", headers(PUB_SIG, PUB_TS), b"payload",
          int(PUB_TS), REJECTED, public_keys=[("k1", PUB_KEY)],
          source=pub_source + ": `should reject for bad payload` / `test_verify_bad_payload`")
cases.add("published SDK vector, other signature", headers(PUB_BAD_SIG, PUB_TS), PUB_BODY,
          int(PUB_TS), REJECTED, public_keys=[("k1", PUB_KEY)],
          source=pub_source + ": `should reject for bad signature` / `test_verify_bad_signature`")
cases.add("published SDK vector, non-numeric timestamp", headers(PUB_SIG, "timestamp"), PUB_BODY,
          int(PUB_TS), REJECTED, public_keys=[("k1", PUB_KEY)],
          source=pub_source + ": `should reject for bad timestamp` / `test_verify_bad_timestamp`")
cases.add("published SDK vector without the final CRLF", headers(PUB_SIG, PUB_TS),
          PUB_BODY[:-2], int(PUB_TS), REJECTED, public_keys=[("k1", PUB_KEY)],
          source=pub_source + " (\"Be sure to include the trailing carriage return and newline!\")")

cases.add("two events", headers(SIG), EVENTS, NOW, ok("k1"), **k1)
cases.add("two keys, the second matches", signed(K2, EVENTS), EVENTS, NOW, ok("k2"),
          public_keys=[("k1", K1_PUB), ("k2", K2_PUB)], private_key=K2_PRIV)
cases.add("the (r, n - s) twin of a valid signature", headers(
          base64.b64encode(encode_dss_signature(R, P256_ORDER - S)).decode()), EVENTS, NOW,
          ok("k1"), **k1,
          source=COMPUTED + "; (r, n - s) verifies in OpenSSL and starkbank-ecdsa alike")
cases.add("timestamp exactly at the tolerance", headers(SIG), EVENTS, int(TS) + TOLERANCE,
          ok("k1"), **k1, source=COMPUTED + POLICY)

cases.add("tampered body", headers(SIG), EVENTS.replace(b'"open"', b'"click"'), NOW, REJECTED,
          **k1)
cases.add("wrong key", headers(SIG), EVENTS, NOW, REJECTED, public_keys=[("k1", K2_PUB)],
          private_key=K1_PRIV)
cases.add("timestamp header changed after signing", headers(SIG, str(int(TS) + 1)), EVENTS, NOW,
          REJECTED, **k1)
cases.add("expired timestamp", headers(SIG), EVENTS, int(TS) + TOLERANCE + 1, REJECTED, **k1,
          source=COMPUTED + POLICY)
cases.add("timestamp in the future", headers(SIG), EVENTS, int(TS) - TOLERANCE - 1, REJECTED,
          **k1, source=COMPUTED + POLICY)
cases.add("hex where base64 is expected", headers(DER.hex()), EVENTS, NOW, REJECTED, **k1)
cases.add("raw r||s (P1363) instead of DER", headers(
          base64.b64encode(R.to_bytes(32, "big") + S.to_bytes(32, "big")).decode()), EVENTS, NOW,
          REJECTED, **k1)
cases.add("truncated signature", headers(SIG[:-4]), EVENTS, NOW, REJECTED, **k1)
cases.add("no timestamp header", [(SIG_HEADER, SIG)], EVENTS, NOW, REJECTED, **k1)
cases.add("no signature header", [(TS_HEADER, TS)], EVENTS, NOW, REJECTED, **k1)

# Every valid case verifies with the key it names; no rejected case verifies within the
# tolerance with any key it lists.
for entry in cases.entries:
    hdrs = dict(entry["headers"])
    sig, ts = hdrs.get(SIG_HEADER, ""), hdrs.get(TS_HEADER, "")
    keys = dict((k["key_id"], k["public_key"]) for k in entry["public_keys"])
    if entry["expect"]["outcome"] == "ok":
        assert verifies(keys[entry["expect"]["key_id"]], sig, ts, body(entry)), entry["name"]
    else:
        fresh = ts.isdigit() and abs(entry["now"] - int(ts)) <= TOLERANCE
        assert not (fresh and any(verifies(k, sig, ts, body(entry)) for k in keys.values()))

write(__file__, PROVIDER, SPEC, cases)
