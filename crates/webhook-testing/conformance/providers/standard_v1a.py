#!/usr/bin/env python3
"""Writes standard_v1a.json: Standard Webhooks asymmetric (`v1a`, Ed25519) signatures.

Run it from any folder: `python3 standard_v1a.py` (Python 3.11 and `cryptography`). Two
published vectors are copied verbatim and checked here; the other valid cases are signed
here (Ed25519 is deterministic) with keys derived from a label.

The scheme (standard-webhooks/standard-webhooks spec/standard-webhooks.md, as the Svix
server signs it and the open v1a pull requests verify it):
    message   = webhook-id + "." + webhook-timestamp + "." + raw body
    signature = Ed25519(secret key, message), base64, sent as `v1a,<base64>` among the
                space-separated entries of webhook-signature
    keys      = `whpk_<base64 of the 32-byte public key>` for the receiver,
                `whsk_<base64 ...>` for the sender (see the notes on its length)
"""

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from _conformance import REJECTED, Cases, body, ok, write

PROVIDER = "standard_v1a"
SPEC_DOC = "standard-webhooks/standard-webhooks: spec/standard-webhooks.md"
SVIX = ("svix/svix-webhooks: server/svix-server/src/worker.rs (sign_msg; test "
        "`test_asymmetric_key_signing`), server/svix-server/src/core/types/mod.rs and README.md "
        "(`whsk_${base64(private_key + public_key)}`)")
PR_PY = ("standard-webhooks/standard-webhooks pull 304 (branch jbrown/v1a-py): "
         "libraries/python/standardwebhooks/webhooks.py")
PR_GO = ("standard-webhooks/standard-webhooks pull 253: libraries/go/webhook_asymmetric.go")
PR_JS = ("standard-webhooks/standard-webhooks pull 308: libraries/javascript/src/index.ts and "
         "src/webhook.test.ts (`v1a: sign function works`)")
COMPUTED = "computed here with the spec's recipe: Ed25519 over id.timestamp.body, base64"
TOLERANCE = 300

SPEC = {
    "source": f"{SPEC_DOC}; producer: {SVIX}; verifiers: {PR_PY}, {PR_GO}, {PR_JS} (all three "
              "open, none merged: no released reference library verifies v1a)",
    "signature_header": "webhook-signature",
    "timestamp_header": "webhook-timestamp",
    "id_header": "webhook-id",
    "layout": ("space-separated `<version>,<base64>` entries; v1a entries carry the 64-byte "
               "Ed25519 signature; v1 (HMAC) and unknown versions are skipped"),
    "algorithm": "ed25519",
    "encoding": "base64 (standard alphabet, padded)",
    "signed_content": "{id}.{timestamp}.{body}",
    "timestamp": "header webhook-timestamp, integer Unix seconds",
    "tolerance_seconds": 300,
    "event_id": "header webhook-id",
    "event_type": "body: type (by convention, not signed separately)",
    "key_form": "whpk_<base64 of the 32-byte Ed25519 public key>",
    "private_key_form": ("whsk_<base64 of seed (32 bytes) || public key (32 bytes)>, as the Svix "
                         "server and pull 308 (libsodium layout) write it"),
    "needs_url": False,
    "notes": (
        "The reference libraries on main verify only v1 (HMAC); the v1a code read is the Svix "
        "server (the producer, in production) and the three open pull requests that add v1a "
        "to the Python, Go and JS libraries. They agree on the message, the `v1a,` label, "
        "base64 and whpk_ (32 raw bytes). They disagree on whsk_: the Svix server and pull "
        "308 store the 64-byte libsodium secret key (seed || public key), pulls 304 and 253 "
        "a 32-byte seed (Ed25519PrivateKey.from_private_bytes, ed25519.NewKeyFromSeed). A "
        "receiver needs only whpk_; accept both whsk_ lengths if a sender key is ever "
        "configured, and check that a 64-byte key's second half is its public key. "
        "The libraries pick the scheme from the key's prefix: a whpk_/whsk_ key verifies "
        "only v1a entries, a whsec_ key only v1; so a header carrying both (`v1,... v1a,...`) "
        "verifies with either kind of key. Tolerance: 5 minutes both ways (the libraries' "
        "constant). The spec's example header reuses the Svix test's v1a signature with "
        "another id and timestamp, so it is illustrative, not a vector. Svix sends the same "
        "headers as svix-id, svix-timestamp and svix-signature unless white-labelled. "
        "No handshake."
    ),
}

MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TS = 1_614_265_330
BODY = b'{"test": 2432232314}'

# --- published vectors, verbatim -------------------------------------------------------------
SVIX_SECRET = ("whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9l"
               "MicMFs6Kvg==")
SVIX_PUBLIC = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="
SVIX_SIG = ("v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM"
            "+m7TBAg==")
PR308_SIG = ("v1a,Ykcu7AtGZGmZxFEH1Gaa2Nd7feY/CTuruoL4fqgnKwfbHU4DhemoVHZdvGfIvKvn4BIgwktLGGPGIr/i"
             "9nK7AA==")


def unprefix(key, prefix):
    assert key.startswith(prefix), key
    return base64.b64decode(key[len(prefix):])


def whsk(private):
    """The Svix/libsodium form: whsk_ + base64(seed || public key)."""
    seed = private.private_bytes_raw()
    return "whsk_" + base64.b64encode(seed + private.public_key().public_bytes_raw()).decode()


def whpk(private):
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "whpk_" + base64.b64encode(raw).decode()


def sign(private, msg_id, ts, body_bytes):
    return "v1a," + base64.b64encode(private.sign(f"{msg_id}.{ts}.".encode() + body_bytes)).decode()


svix_sk = unprefix(SVIX_SECRET, "whsk_")
SVIX_KEY = Ed25519PrivateKey.from_private_bytes(svix_sk[:32])
assert whpk(SVIX_KEY) == SVIX_PUBLIC and svix_sk[32:] == unprefix(SVIX_PUBLIC, "whpk_")
assert sign(SVIX_KEY, MSG_ID, TS, BODY) == SVIX_SIG

PR308_KEY = Ed25519PrivateKey.from_private_bytes(bytes([1]) * 32)
assert sign(PR308_KEY, MSG_ID, TS, BODY) == PR308_SIG


def key_pair(label):
    seed = hashlib.sha256(f"tower-webhook conformance {PROVIDER} {label}".encode()).digest()
    private = Ed25519PrivateKey.from_private_bytes(seed)
    return private, whpk(private), whsk(private)


K1, K1_PUB, K1_SK = key_pair("k1")
K2, K2_PUB, K2_SK = key_pair("k2")
ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
T = 1_700_000_000
NOW = T + 5
EVENT = (b'{"type":"contact.created","timestamp":"2023-11-14T22:13:20.000000Z",'
         b'"data":{"id":"1f81eb52-5198-4599-803e-771906343485"}}')
SIG = sign(K1, ID, T, EVENT)
HMAC_NOISE = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="


def headers(signature, msg_id=ID, ts=T, prefix="webhook"):
    return [(f"{prefix}-id", msg_id), (f"{prefix}-timestamp", str(ts)),
            (f"{prefix}-signature", signature)]


cases = Cases(PROVIDER, COMPUTED, tolerance=TOLERANCE)
svix = {"public_keys": [("k1", SVIX_PUBLIC)], "private_key": SVIX_SECRET}
k1 = {"public_keys": [("k1", K1_PUB)], "private_key": K1_SK}

cases.add("published Svix server vector", headers(SVIX_SIG, MSG_ID, TS), BODY, TS,
          ok("k1", MSG_ID), **svix, source=SVIX)
cases.add("published vector of pull 308 (seed 01 x 32)", headers(PR308_SIG, MSG_ID, TS), BODY,
          TS, ok("k1", MSG_ID), public_keys=[("k1", whpk(PR308_KEY))],
          private_key=whsk(PR308_KEY), source=PR_JS)
cases.add("published Svix vector under svix- headers", headers(SVIX_SIG, MSG_ID, TS, "svix"),
          BODY, TS, ok("k1", MSG_ID), **svix, source=SVIX + "; Svix's default header names")
cases.add("published Svix vector, the second key matches", headers(SVIX_SIG, MSG_ID, TS), BODY,
          TS, ok("k2", MSG_ID), public_keys=[("k1", whpk(PR308_KEY)), ("k2", SVIX_PUBLIC)],
          private_key=SVIX_SECRET, source=SVIX)

cases.add("event", headers(SIG), EVENT, NOW, ok("k1", ID), **k1)
cases.add("two keys, the second matches", headers(sign(K2, ID, T, EVENT)), EVENT, NOW,
          ok("k2", ID), public_keys=[("k1", K1_PUB), ("k2", K2_PUB)], private_key=K2_SK)
cases.add("v1 and v1a entries, the v1a one valid", headers(f"{HMAC_NOISE} {SIG}"), EVENT, NOW,
          ok("k1", ID), **k1)
cases.add("two v1a entries (key rotation), the second valid",
          headers(f"{sign(K2, ID, T, EVENT)} {SIG}"), EVENT, NOW, ok("k1", ID), **k1)
cases.add("exactly at the tolerance, past", headers(SIG), EVENT, T + TOLERANCE, ok("k1", ID), **k1)
cases.add("exactly at the tolerance, future", headers(SIG), EVENT, T - TOLERANCE, ok("k1", ID),
          **k1)

cases.add("tampered body", headers(SIG), EVENT.replace(b"created", b"deleted"), NOW, REJECTED,
          **k1)
cases.add("published Svix vector, tampered body", headers(SVIX_SIG, MSG_ID, TS),
          b'{"test": 2432232315}', TS, REJECTED, **svix, source=SVIX)
cases.add("wrong key", headers(SIG), EVENT, NOW, REJECTED, public_keys=[("k1", K2_PUB)],
          private_key=K1_SK)
cases.add("webhook-id changed after signing", headers(SIG, msg_id=ID + "x"), EVENT, NOW,
          REJECTED, **k1)
cases.add("expired timestamp", headers(SIG), EVENT, T + TOLERANCE + 1, REJECTED, **k1)
cases.add("timestamp in the future", headers(SIG), EVENT, T - TOLERANCE - 1, REJECTED, **k1)
cases.add("Ed25519 signature labelled v1", headers("v1," + SIG[len("v1a,"):]), EVENT, NOW,
          REJECTED, **k1)
cases.add("only a v1 (HMAC) entry", headers(HMAC_NOISE), EVENT, NOW, REJECTED, **k1)
cases.add("hex where base64 is expected",
          headers("v1a," + base64.b64decode(SIG[len("v1a,"):]).hex()), EVENT, NOW, REJECTED, **k1)
cases.add("truncated signature", headers(SIG[:-4]), EVENT, NOW, REJECTED, **k1)
cases.add("bare v1a,", headers("v1a,"), EVENT, NOW, REJECTED, **k1)
cases.add("no webhook-id", [h for h in headers(SIG) if h[0] != "webhook-id"], EVENT, NOW,
          REJECTED, **k1)
cases.add("no webhook-timestamp", [h for h in headers(SIG) if h[0] != "webhook-timestamp"],
          EVENT, NOW, REJECTED, **k1)


def verifies(public, signature_header, msg_id, ts, body_bytes):
    """The open pulls' recipe: any v1a entry that verifies under the whpk_ key."""
    key = Ed25519PublicKey.from_public_bytes(unprefix(public, "whpk_"))
    for entry in signature_header.split(" "):
        version, _, value = entry.partition(",")
        if version != "v1a" or not value:
            continue
        try:
            key.verify(base64.b64decode(value, validate=True),
                       f"{msg_id}.{ts}.".encode() + body_bytes)
            return True
        except Exception:  # InvalidSignature, or base64 that does not decode
            continue
    return False


# Every valid case verifies with the key it names; no rejected case verifies within the
# tolerance with any key it lists.
for entry in cases.entries:
    hdrs = {n.replace("svix-", "webhook-"): v for n, v in entry["headers"]}
    sig, msg_id = hdrs.get("webhook-signature", ""), hdrs.get("webhook-id")
    ts = hdrs.get("webhook-timestamp", "")
    keys = dict((k["key_id"], k["public_key"]) for k in entry["public_keys"])
    if entry["expect"]["outcome"] == "ok":
        assert verifies(keys[entry["expect"]["key_id"]], sig, msg_id, ts, body(entry)), \
            entry["name"]
    else:
        usable = msg_id and ts.isdigit() and abs(entry["now"] - int(ts)) <= TOLERANCE
        assert not (usable and any(verifies(k, sig, msg_id, ts, body(entry))
                                   for k in keys.values())), entry["name"]
    if "private_key" in entry:
        sk = unprefix(entry["private_key"], "whsk_")
        assert len(sk) == 64
        assert whpk(Ed25519PrivateKey.from_private_bytes(sk[:32])) == "whpk_" + \
            base64.b64encode(sk[32:]).decode()

write(__file__, PROVIDER, SPEC, cases)
