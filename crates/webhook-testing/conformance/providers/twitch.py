#!/usr/bin/env python3
"""Writes twitch.json: Twitch EventSub webhook signatures, with conformance cases.

Run it from any folder: `python3 twitch.py` (Python 3.11 standard library). Twitch
publishes no vector with its secret, so every case is computed here with HMAC-SHA256.

The scheme, as twitchdev/twitch-cli signs it (internal/events/trigger/forward_event.go) and
Twitch's docs and twitchdev/eventsub-webhooks-node-sample verify it:
    message   = Twitch-Eventsub-Message-Id + Twitch-Eventsub-Message-Timestamp + raw body
                (no separators)
    signature = "sha256=" + hex(HMAC-SHA256(secret, message)) in
                Twitch-Eventsub-Message-Signature
    key       = the secret the developer chose when creating the subscription (raw text)
"""

import base64
import hashlib
import hmac
from datetime import datetime

from _conformance import REJECTED, Cases, body, ok, write

PROVIDER = "twitch"
CLI = ("twitchdev/twitch-cli: internal/events/trigger/forward_event.go (getSignatureHeader) and "
       "forward_event_test.go (TestForwardEventEventsub)")
SAMPLE = "twitchdev/eventsub-webhooks-node-sample: index.js (verifySignature)"
DOCS = ("https://dev.twitch.tv/docs/eventsub/handling-webhook-events/ (Verifying the event "
        "message, Responding to a challenge request) and https://dev.twitch.tv/docs/eventsub/ "
        "(Guarding against replay attacks)")
COMPUTED = "computed here with the CLI's recipe: HMAC-SHA256 over id + timestamp + body, hex"
TOLERANCE = 600
ID_HEADER = "twitch-eventsub-message-id"
TS_HEADER = "twitch-eventsub-message-timestamp"
SIG_HEADER = "twitch-eventsub-message-signature"
TYPE_HEADER = "twitch-eventsub-message-type"

SPEC = {
    "source": f"{CLI}; {SAMPLE}; docs: {DOCS}",
    "signature_header": "Twitch-Eventsub-Message-Signature",
    "timestamp_header": "Twitch-Eventsub-Message-Timestamp",
    "id_header": "Twitch-Eventsub-Message-Id",
    "layout": "sha256=<64 lowercase hex characters>",
    "algorithm": "hmac-sha256",
    "encoding": "hex",
    "signed_content": "{id}{timestamp}{body}",
    "timestamp": ("header Twitch-Eventsub-Message-Timestamp, RFC 3339 UTC with up to nine "
                  "fractional digits (2023-11-14T22:13:20.123456789Z); signed as sent"),
    "tolerance_seconds": 600,
    "event_id": "header Twitch-Eventsub-Message-Id (the same on every retry)",
    "event_type": ("header Twitch-Eventsub-Subscription-Type (channel.follow, ...); "
                   "Twitch-Eventsub-Message-Type says notification, "
                   "webhook_callback_verification or revocation"),
    "key_form": "raw secret text the developer chose, 10 to 100 ASCII characters",
    "needs_url": False,
    "notes": (
        "Twitch has no official verifying SDK: the signing side is its CLI (twitch-cli, used "
        "to test handlers), the verifying side its docs and Node sample. The docs ask to "
        "reject a message whose timestamp is older than 10 minutes and to drop a message id "
        "already processed; they set no bound for timestamps in the future (the cases here "
        "test only the past). The CLI re-formats the timestamp (time.Parse then "
        "AppendFormat RFC3339Nano) before signing, which equals the header text for Twitch's "
        "own canonical timestamps; a receiver signs the header text as sent. The sample "
        "compares `sha256=<hex>` strings with ===, so it refuses uppercase hex; the cases "
        "use lowercase only. Other headers: Twitch-Eventsub-Message-Retry, "
        "Twitch-Eventsub-Subscription-Version. "
        "Handshake (webhook_callback_verification): right after a subscription is created "
        "Twitch POSTs a signed message with Twitch-Eventsub-Message-Type "
        "webhook_callback_verification and body {\"challenge\": \"...\", \"subscription\": "
        "{...}}; verify it, then answer 200 with Content-Type text/plain and the challenge "
        "value, verbatim, as the whole body (the CLI's verify-subscription checks status, "
        "content type and body). A revocation message is signed too; answer it 2xx."
    ),
}

def parse(timestamp):
    """RFC 3339 UTC with up to nine fractional digits, as Unix seconds (float)."""
    if not timestamp.endswith("Z") or "T" not in timestamp:
        return None
    whole, _, fraction = timestamp[:-1].partition(".")
    try:
        seconds = datetime.fromisoformat(whole + "+00:00").timestamp()
    except ValueError:
        return None
    return seconds + (float("0." + fraction) if fraction else 0.0)


SECRET = "s3cre7-twitch-eventsub-k1"
OTHER = "s3cre7-twitch-eventsub-k2"
MSG_ID = "e76c6bd4-55c9-4987-8304-da1588d8988b"
TS = "2023-11-14T22:13:20.123456789Z"
T = int(parse(TS))
assert T == 1_700_000_000
NOW = T + 5
NOTIFICATION = (b'{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"enabled",'
                b'"type":"channel.follow","version":"2","cost":0,"condition":'
                b'{"broadcaster_user_id":"1337","moderator_user_id":"1337"},"transport":'
                b'{"method":"webhook","callback":"https://example.com/webhooks/callback"},'
                b'"created_at":"2023-11-14T22:10:00.634234626Z"},"event":{"user_id":"1234",'
                b'"user_login":"cool_user","user_name":"Cool_User","broadcaster_user_id":"1337",'
                b'"broadcaster_user_login":"cooler_user","broadcaster_user_name":"Cooler_User",'
                b'"followed_at":"2023-11-14T22:13:19.634234626Z"}}')
CHALLENGE = "pogchamp-kappa-360noscope-vohiyo"
VERIFICATION = (b'{"challenge":"' + CHALLENGE.encode() + b'","subscription":{"id":'
                b'"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":'
                b'"webhook_callback_verification_pending","type":"channel.follow","version":"2",'
                b'"cost":1,"condition":{"broadcaster_user_id":"12826"},"transport":{"method":'
                b'"webhook","callback":"https://example.com/webhooks/callback"},"created_at":'
                b'"2023-11-14T22:13:20.634234626Z"}}')
REVOCATION = (b'{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":'
              b'"authorization_revoked","type":"channel.follow","version":"2","cost":1,'
              b'"condition":{"broadcaster_user_id":"12826"},"transport":{"method":"webhook",'
              b'"callback":"https://example.com/webhooks/callback"},"created_at":'
              b'"2023-11-14T22:10:00.634234626Z"}}')


def tag(secret, msg_id, timestamp, body_bytes):
    return hmac.new(secret.encode(), f"{msg_id}{timestamp}".encode() + body_bytes,
                    hashlib.sha256).digest()


def headers(signature, msg_id=MSG_ID, timestamp=TS, kind="notification"):
    return [(ID_HEADER, msg_id), ("twitch-eventsub-message-retry", "0"),
            (TYPE_HEADER, kind), (SIG_HEADER, signature), (TS_HEADER, timestamp),
            ("twitch-eventsub-subscription-type", "channel.follow"),
            ("twitch-eventsub-subscription-version", "2")]


def signed(secret, body_bytes, kind="notification", msg_id=MSG_ID, timestamp=TS):
    return headers("sha256=" + tag(secret, msg_id, timestamp, body_bytes).hex(), msg_id,
                   timestamp, kind)


TAG = tag(SECRET, MSG_ID, TS, NOTIFICATION)
SIG = "sha256=" + TAG.hex()

cases = Cases(PROVIDER, COMPUTED, tolerance=TOLERANCE)
k1 = {"secrets": [("k1", SECRET)]}

cases.add("notification", headers(SIG), NOTIFICATION, NOW, ok("k1", MSG_ID), **k1)
cases.add("webhook_callback_verification, answered with the challenge",
          signed(SECRET, VERIFICATION, "webhook_callback_verification"), VERIFICATION, NOW,
          ok("k1", MSG_ID), **k1,
          handshake_response={"status": 200, "content_type": "text/plain", "body": CHALLENGE})
cases.add("revocation", signed(SECRET, REVOCATION, "revocation"), REVOCATION, NOW,
          ok("k1", MSG_ID), **k1)
cases.add("two keys, the second matches", signed(OTHER, NOTIFICATION), NOTIFICATION, NOW,
          ok("k2", MSG_ID), secrets=[("k1", SECRET), ("k2", OTHER)])
cases.add("timestamp with fewer fractional digits, signed as sent",
          signed(SECRET, NOTIFICATION, timestamp="2023-11-14T22:13:20.12Z"), NOTIFICATION, NOW,
          ok("k1", MSG_ID), **k1)
cases.add("ten minutes old", headers(SIG), NOTIFICATION, T + TOLERANCE, ok("k1", MSG_ID), **k1,
          source=COMPUTED + "; now - timestamp = 599.88 s")

cases.add("tampered body", headers(SIG), NOTIFICATION.replace(b"cool_user", b"cool_usex"), NOW,
          REJECTED, **k1)
cases.add("wrong key", headers(SIG), NOTIFICATION, NOW, REJECTED, secrets=[("k1", OTHER)])
cases.add("message id changed after signing", headers(SIG, msg_id=MSG_ID[:-1] + "c"),
          NOTIFICATION, NOW, REJECTED, **k1)
cases.add("timestamp changed after signing", headers(SIG, timestamp=TS.replace(".123", ".124")),
          NOTIFICATION, NOW, REJECTED, **k1)
cases.add("older than ten minutes", headers(SIG), NOTIFICATION, T + TOLERANCE + 1, REJECTED,
          **k1, source=COMPUTED + "; now - timestamp = 600.88 s")
cases.add("Unix seconds instead of RFC 3339",
          signed(SECRET, NOTIFICATION, timestamp=str(T)), NOTIFICATION, NOW, REJECTED, **k1,
          source=COMPUTED + "; the HMAC matches, the timestamp does not parse")
cases.add("base64 where hex is expected", headers("sha256=" + base64.b64encode(TAG).decode()),
          NOTIFICATION, NOW, REJECTED, **k1)
cases.add("truncated signature", headers(SIG[:-2]), NOTIFICATION, NOW, REJECTED, **k1)
cases.add("hex without the sha256= prefix", headers(TAG.hex()), NOTIFICATION, NOW, REJECTED,
          **k1)
cases.add("signature over the body alone",
          headers("sha256=" + hmac.new(SECRET.encode(), NOTIFICATION, hashlib.sha256).hexdigest()),
          NOTIFICATION, NOW, REJECTED, **k1)
cases.add("no timestamp header", [h for h in headers(SIG) if h[0] != TS_HEADER], NOTIFICATION,
          NOW, REJECTED, **k1)
cases.add("no message id header", [h for h in headers(SIG) if h[0] != ID_HEADER], NOTIFICATION,
          NOW, REJECTED, **k1)


def verifies(secret, signature, msg_id, timestamp, body_bytes):
    """The docs' recipe: `sha256=` + hex HMAC of id + timestamp + body."""
    expected = "sha256=" + tag(secret, msg_id, timestamp, body_bytes).hex()
    return hmac.compare_digest(signature, expected)


# Every valid case verifies with the key it names and is at most ten minutes old; no rejected
# case both verifies with a key it lists and has a timestamp within ten minutes.
for entry in cases.entries:
    hdrs = dict(entry["headers"])
    sig, ts, msg_id = hdrs.get(SIG_HEADER, ""), hdrs.get(TS_HEADER, ""), hdrs.get(ID_HEADER)
    keys = dict((k["key_id"], k["secret"]) for k in entry["secrets"])
    when = parse(ts)
    fresh = when is not None and entry["now"] - when <= TOLERANCE
    if entry["expect"]["outcome"] == "ok":
        assert fresh and verifies(keys[entry["expect"]["key_id"]], sig, msg_id, ts,
                                  body(entry)), entry["name"]
    else:
        assert not (fresh and msg_id and any(verifies(k, sig, msg_id, ts, body(entry))
                                             for k in keys.values())), entry["name"]

write(__file__, PROVIDER, SPEC, cases)
