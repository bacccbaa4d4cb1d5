#!/usr/bin/env python3
"""Writes discord.json: Discord's Ed25519 request signatures, with conformance cases.

Run it from any folder: `python3 discord.py` (Python 3.11 and `cryptography`). Every
signature is computed here, independently of the Rust code under test. Discord publishes no
fixed vector (the SDK tests sign with a key pair generated at run time), so every case is
computed with fixed key pairs derived from a label.

The scheme, as discord/discord-interactions-js `verifyKey` (src/index.ts) and
discord/discord-interactions-python `verify_key` implement it:
    message   = X-Signature-Timestamp (the text as sent) + raw body
    signature = Ed25519(private key, message), 128 hex characters in X-Signature-Ed25519
    key       = the application's public key from the Developer Portal, 64 hex characters
"""

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from _conformance import REJECTED, Cases, body, ok, write

PROVIDER = "discord"
SDK = ("discord/discord-interactions-js: src/index.ts (verifyKey, verifyKeyMiddleware, "
       "verifyWebhookEventMiddleware) and src/util.ts (valueToUint8Array); "
       "discord/discord-interactions-python: discord_interactions/__init__.py (verify_key)")
DOCS = ("discord/discord-api-docs: developers/interactions/overview.mdx and "
        "developers/events/webhook-events.mdx")
COMPUTED = "computed here with the SDK's recipe: Ed25519 over timestamp + body, hex"
POLICY = "; the SDKs enforce no tolerance: 300 s is receiver policy"
TOLERANCE = 300

SPEC = {
    "source": SDK + "; docs: " + DOCS,
    "signature_header": "X-Signature-Ed25519",
    "timestamp_header": "X-Signature-Timestamp",
    "layout": "<128 hex characters> (the 64-byte Ed25519 signature, no prefix)",
    "algorithm": "ed25519",
    "encoding": "hex",
    "signed_content": "{timestamp}{body}",
    "timestamp": "header X-Signature-Timestamp, Unix seconds as decimal text; signed as sent",
    "tolerance_seconds": None,
    "event_id": "body: id (the interaction id); webhook events (type 0/1 envelopes) carry no id",
    "event_type": ("interactions: body type (1 = PING, 2 = APPLICATION_COMMAND, ...); webhook "
                   "events: body type (0 = PING, 1 = event) and body event.type "
                   "(APPLICATION_AUTHORIZED, ...)"),
    "key_form": "the application's Ed25519 public key, 64 hex characters (32 bytes)",
    "private_key_form": ("hex of the 32-byte Ed25519 seed (Discord never hands one out; "
                         "given so tests can re-sign)"),
    "needs_url": False,
    "notes": (
        "Neither SDK checks the timestamp's age: tolerance is receiver policy, so every case "
        "carries `tolerance` 300. The JS SDK decodes hex with parseInt on two-character "
        "chunks, so uppercase hex is accepted (Python's bytes.fromhex agrees); any decoding "
        "or length failure makes verifyKey return false. Both middlewares answer 401 when a "
        "header is missing or the signature fails. Discord routinely sends deliberately "
        "invalid signatures and removes an endpoint that accepts them. "
        "Handshake (both PINGs are signed like any request, so verify first): "
        "Interactions endpoint: Discord POSTs a PING with body type 1; answer 200, "
        "Content-Type application/json, body {\"type\": 1} (PONG). "
        "Webhook events endpoint: Discord POSTs an envelope with type 0 (PING); answer 204 "
        "with an empty body (verifyWebhookEventMiddleware does, and answers every verified "
        "event 204 before handling it). "
        "The docs' samples concatenate the timestamp with the body as a string; the SDKs use "
        "the raw bytes, which is what a non-ASCII body needs."
    ),
}


def key_pair(label):
    seed = hashlib.sha256(f"tower-webhook conformance {PROVIDER} {label}".encode()).digest()
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return private, public.hex(), seed.hex()


def headers(signature, timestamp):
    return [("x-signature-ed25519", signature), ("x-signature-timestamp", timestamp)]


K1, K1_PUB, K1_SEED = key_pair("k1")
K2, K2_PUB, K2_SEED = key_pair("k2")
TS = "1700000000"
NOW = 1_700_000_005

COMMAND_ID = "1180000000000000001"
COMMAND = (b'{"app_permissions":"2248473465835073","application_id":"1170000000000000001",'
           b'"channel_id":"1160000000000000001","data":{"id":"1150000000000000001",'
           b'"name":"ping","type":1},"guild_id":"1140000000000000001","id":"1180000000000000001",'
           b'"locale":"en-US","token":"aW50ZXJhY3Rpb246MTE4","type":2,"version":1}')
PING_ID = "1180000000000000002"
PING = (b'{"application_id":"1170000000000000001","id":"1180000000000000002",'
        b'"token":"aW50ZXJhY3Rpb246MTE5","type":1,"user":{"id":"1130000000000000001",'
        b'"username":"discord"},"version":1}')
EVENTS_PING = b'{"version":1,"application_id":"1170000000000000001","type":0}'
EVENT = (b'{"version":1,"application_id":"1170000000000000001","type":1,"event":'
         b'{"type":"APPLICATION_AUTHORIZED","timestamp":"2023-11-14T22:13:20.000000+00:00",'
         b'"data":{"integration_type":1,"scopes":["applications.commands"],'
         b'"user":{"id":"1130000000000000001","username":"discord"}}}}')
UNICODE_ID = "1180000000000000003"
UNICODE = ('{"id":"1180000000000000003","type":2,"data":{"name":"caf\u00e9",'
           '"options":[{"name":"text","type":3,"value":"na\u00efve \u2713"}]},'
           '"version":1}').encode("utf-8")

SIG_BYTES = K1.sign(TS.encode() + COMMAND)
SIG = SIG_BYTES.hex()


def signed(private, body_bytes, timestamp=TS):
    return headers(private.sign(timestamp.encode() + body_bytes).hex(), timestamp)


cases = Cases(PROVIDER, COMPUTED, tolerance=TOLERANCE)
k1 = {"public_keys": [("k1", K1_PUB)], "private_key": K1_SEED}

cases.add("application command", headers(SIG, TS), COMMAND, NOW, ok("k1", COMMAND_ID), **k1)
cases.add("interactions PING, answered with PONG", signed(K1, PING), PING, NOW,
          ok("k1", PING_ID), **k1,
          handshake_response={"status": 200, "content_type": "application/json",
                              "body": {"type": 1}})
cases.add("webhook events PING, answered 204", signed(K1, EVENTS_PING), EVENTS_PING, NOW,
          ok("k1"), **k1, handshake_response={"status": 204, "body": ""})
cases.add("webhook event APPLICATION_AUTHORIZED", signed(K1, EVENT), EVENT, NOW, ok("k1"), **k1)
cases.add("non-ASCII body, signed as UTF-8 bytes", signed(K1, UNICODE), UNICODE, NOW,
          ok("k1", UNICODE_ID), **k1)
cases.add("two keys, the second matches", signed(K2, COMMAND), COMMAND, NOW,
          ok("k2", COMMAND_ID), public_keys=[("k1", K1_PUB), ("k2", K2_PUB)],
          private_key=K2_SEED)
cases.add("uppercase hex signature", headers(SIG.upper(), TS), COMMAND, NOW,
          ok("k1", COMMAND_ID), **k1,
          source=COMPUTED + "; the JS SDK's parseInt and Python's bytes.fromhex accept uppercase")
cases.add("timestamp exactly at the tolerance", headers(SIG, TS), COMMAND,
          int(TS) + TOLERANCE, ok("k1", COMMAND_ID), **k1, source=COMPUTED + POLICY)

cases.add("tampered body", headers(SIG, TS), COMMAND.replace(b'"ping"', b'"pong"'), NOW,
          REJECTED, **k1)
cases.add("wrong key", headers(SIG, TS), COMMAND, NOW, REJECTED,
          public_keys=[("k1", K2_PUB)], private_key=K1_SEED)
cases.add("timestamp header changed after signing", headers(SIG, str(int(TS) + 1)), COMMAND,
          NOW, REJECTED, **k1)
cases.add("signature over the body alone", headers(K1.sign(COMMAND).hex(), TS), COMMAND, NOW,
          REJECTED, **k1)
cases.add("expired timestamp", headers(SIG, TS), COMMAND, int(TS) + TOLERANCE + 1, REJECTED,
          **k1, source=COMPUTED + POLICY)
cases.add("timestamp in the future", headers(SIG, TS), COMMAND, int(TS) - TOLERANCE - 1,
          REJECTED, **k1, source=COMPUTED + POLICY)
cases.add("base64 where hex is expected", headers(base64.b64encode(SIG_BYTES).decode(), TS),
          COMMAND, NOW, REJECTED, **k1)
cases.add("truncated signature", headers(SIG[:-2], TS), COMMAND, NOW, REJECTED, **k1)
cases.add("128 characters that are not hex", headers("g" * 128, TS), COMMAND, NOW, REJECTED,
          **k1)
cases.add("no timestamp header", [("x-signature-ed25519", SIG)], COMMAND, NOW, REJECTED, **k1)
cases.add("no signature header", [("x-signature-timestamp", TS)], COMMAND, NOW, REJECTED, **k1)

def verifies(public_hex, signature_hex, timestamp, body_bytes):
    """The SDK's recipe (discord-interactions-python verify_key)."""
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
        key.verify(bytes.fromhex(signature_hex), timestamp.encode() + body_bytes)
        return True
    except Exception:  # InvalidSignature, or hex that does not decode
        return False


# Every valid case verifies with the key it names; no rejected case verifies within the
# tolerance with any key it lists.
for entry in cases.entries:
    hdrs = dict(entry["headers"])
    sig, ts = hdrs.get("x-signature-ed25519", ""), hdrs.get("x-signature-timestamp", "")
    keys = dict((k["key_id"], k["public_key"]) for k in entry["public_keys"])
    if entry["expect"]["outcome"] == "ok":
        assert verifies(keys[entry["expect"]["key_id"]], sig, ts, body(entry)), entry["name"]
    else:
        fresh = ts.isdigit() and abs(entry["now"] - int(ts)) <= TOLERANCE
        assert not (fresh and any(verifies(k, sig, ts, body(entry)) for k in keys.values()))

write(__file__, PROVIDER, SPEC, cases)
