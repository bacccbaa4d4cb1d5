#!/usr/bin/env python3
"""Writes gitlab_signing.json: GitLab's webhook signing token (Standard Webhooks `v1`).

Run it from any folder: `python3 gitlab_signing.py` (Python 3.11 standard library). GitLab
publishes no vector for it, so the GitLab cases are computed here; one case replays the
Standard Webhooks reference vector, which GitLab states it follows.

The scheme (GitLab 19.0, "signing token"; gitlab-org/gitlab merge requests 230944 and 231325):
    message   = webhook-id + "." + webhook-timestamp + "." + raw body
    signature = "v1," + base64(HMAC-SHA256(key, message)) in webhook-signature
    key       = base64 decoding of the signing token after its `whsec_` prefix (32 bytes)
    webhook-id equals the delivery's Idempotency-Key (a UUID, the same on every retry)
"""

import base64
import hashlib
import hmac

from _conformance import REJECTED, Cases, body, ok, write

PROVIDER = "gitlab_signing"
MR_SIGN = ("gitlab-org/gitlab merge request 230944 \"Add webhook HMAC signing token\": "
           "HMAC-SHA256 over {webhook-id}.{timestamp}.{body}, webhook-signature `v1,<base64>`, "
           "webhook-id = Idempotency-Key, \"follow the Standard Webhooks specification\", "
           "verified in its test plan with the standardwebhooks library")
MR_API = ("gitlab-org/gitlab merge request 231325: the API's signing_token \"must be in "
          "whsec_<base64> format encoding a 32-byte key\"")
DOCS = ("https://docs.gitlab.com/user/project/integrations/webhooks/#signing-tokens; "
        "release notes GitLab 19.0 \"Secure webhooks with HMAC signing tokens\"")
SW_SOURCE = ("standard-webhooks/standard-webhooks: libraries/python/tests/test_webhooks.py "
             "`test_sign_function` (also svix/svix-webhooks server worker.rs)")
COMPUTED = "computed here with the Standard Webhooks v1 recipe and a 32-byte whsec_ key"
TOLERANCE = 300

SPEC = {
    "source": f"{MR_SIGN}; {MR_API}; docs: {DOCS}",
    "signature_header": "webhook-signature",
    "timestamp_header": "webhook-timestamp",
    "id_header": "webhook-id",
    "layout": "v1,<base64> (Standard Webhooks: space-separated `<version>,<base64>` entries)",
    "algorithm": "hmac-sha256",
    "encoding": "base64 (standard alphabet, padded)",
    "signed_content": "{id}.{timestamp}.{body}",
    "timestamp": "header webhook-timestamp, integer Unix seconds",
    "tolerance_seconds": 300,
    "event_id": "header webhook-id (= Idempotency-Key, a UUID, the same on every retry)",
    "event_type": "header X-Gitlab-Event (Push Hook, ...); body object_kind",
    "key_form": "whsec_<base64 of 32 random bytes>; the HMAC key is the decoded bytes",
    "needs_url": False,
    "notes": (
        "GitLab's own source for the signer was not readable here (the GitHub mirror holds "
        "an older web_hook_service.rb and the repository is too large to fetch): the recipe "
        "comes from the merge request that added it, which names Standard Webhooks and tests "
        "with its JS library, so the key is the base64-decoded whsec_ body, as in the "
        "`standard` scheme. GitLab sets no tolerance of its own; 300 s both ways is the "
        "Standard Webhooks libraries' constant. GitLab signs with one token, so one v1 entry "
        "arrives; receivers should still accept several entries (rotation on their side is "
        "two configured keys). A hook may also carry X-Gitlab-Token (gitlab.json) on the same "
        "request. The signing token is write-only in the API (signing_token_present shows "
        "whether one is set). It shipped behind the webhook_signing_token feature flag and "
        "is announced in the GitLab 19.0 release notes. "
        "No handshake."
    ),
}

KEY1 = "whsec_" + base64.b64encode(hashlib.sha256(b"tower-webhook gitlab k1").digest()).decode()
KEY2 = "whsec_" + base64.b64encode(hashlib.sha256(b"tower-webhook gitlab k2").digest()).decode()
ID = "7a4b5e52-2d4b-4c43-9f1a-3f4c2d1e0b9a"
T = 1_700_000_000
NOW = T + 5
PUSH = (b'{"object_kind":"push","event_name":"push","before":'
        b'"95790bf891e76fee5e1747ab589903a6a1f80f22","after":'
        b'"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","ref":"refs/heads/master",'
        b'"checkout_sha":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","user_id":4,'
        b'"user_name":"John Smith","user_username":"jsmith","project_id":15,'
        b'"project":{"id":15,"name":"Diaspora","path_with_namespace":"mike/diaspora",'
        b'"default_branch":"master"},"commits":[],"total_commits_count":0}')

SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TS = 1_614_265_330
SW_BODY = b'{"test": 2432232314}'
SW_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def key_bytes(secret):
    assert secret.startswith("whsec_")
    return base64.b64decode(secret[len("whsec_"):])


def tag(secret, msg_id, ts, body_bytes):
    return hmac.new(key_bytes(secret), f"{msg_id}.{ts}.".encode() + body_bytes,
                    hashlib.sha256).digest()


def sign(secret, msg_id, ts, body_bytes):
    return "v1," + base64.b64encode(tag(secret, msg_id, ts, body_bytes)).decode()


assert len(key_bytes(KEY1)) == 32 and len(key_bytes(KEY2)) == 32
assert sign(SW_SECRET, SW_ID, SW_TS, SW_BODY) == SW_SIG


def headers(signature, msg_id=ID, ts=T, token=None):
    out = [("content-type", "application/json"), ("user-agent", "GitLab/19.0.0"),
           ("idempotency-key", msg_id), ("x-gitlab-event", "Push Hook"),
           ("x-gitlab-webhook-uuid", "0c8f5b1e-4a1b-4a47-8d8e-0f6a9c2b7d31"),
           ("x-gitlab-instance", "https://gitlab.example.com"),
           ("webhook-id", msg_id), ("webhook-timestamp", str(ts))]
    if signature is not None:
        out.append(("webhook-signature", signature))
    if token is not None:
        out.append(("x-gitlab-token", token))
    return out


TAG = tag(KEY1, ID, T, PUSH)
SIG = "v1," + base64.b64encode(TAG).decode()

cases = Cases(PROVIDER, COMPUTED, tolerance=TOLERANCE)
k1 = {"secrets": [("k1", KEY1)]}

cases.add("push", headers(SIG), PUSH, NOW, ok("k1", ID), **k1)
cases.add("two keys, the second matches", headers(sign(KEY2, ID, T, PUSH)), PUSH, NOW,
          ok("k2", ID), secrets=[("k1", KEY1), ("k2", KEY2)])
cases.add("signed and carrying an X-Gitlab-Token too", headers(SIG, token="gitlab-secret-token"),
          PUSH, NOW, ok("k1", ID), **k1)
cases.add("Standard Webhooks reference vector (GitLab follows the spec)",
          [("webhook-id", SW_ID), ("webhook-timestamp", str(SW_TS)), ("webhook-signature", SW_SIG)],
          SW_BODY, SW_TS, ok("k1", SW_ID), secrets=[("k1", SW_SECRET)], source=SW_SOURCE)
cases.add("exactly at the tolerance, past", headers(SIG), PUSH, T + TOLERANCE, ok("k1", ID), **k1)

cases.add("tampered body", headers(SIG), PUSH.replace(b"John Smith", b"Jane Smith"), NOW,
          REJECTED, **k1)
cases.add("wrong key", headers(SIG), PUSH, NOW, REJECTED, secrets=[("k1", KEY2)])
cases.add("webhook-id changed after signing", headers(SIG, msg_id=ID[:-1] + "b"), PUSH, NOW,
          REJECTED, **k1)
cases.add("expired timestamp", headers(SIG), PUSH, T + TOLERANCE + 1, REJECTED, **k1)
cases.add("timestamp in the future", headers(SIG), PUSH, T - TOLERANCE - 1, REJECTED, **k1)
cases.add("hex where base64 is expected", headers("v1," + TAG.hex()), PUSH, NOW, REJECTED, **k1)
cases.add("truncated signature", headers(SIG[:-4]), PUSH, NOW, REJECTED, **k1)
cases.add("HMAC keyed with the whsec_ text instead of its bytes",
          headers("v1," + base64.b64encode(hmac.new(KEY1.encode(), f"{ID}.{T}.".encode() + PUSH,
                                                     hashlib.sha256).digest()).decode()),
          PUSH, NOW, REJECTED, **k1)
cases.add("no webhook-signature (token only)", headers(None, token="gitlab-secret-token"), PUSH,
          NOW, REJECTED, **k1)


def verifies(secret, signature_header, msg_id, ts, body_bytes):
    """The Standard Webhooks v1 recipe: any v1 entry equal to the expected tag."""
    expected = base64.b64encode(tag(secret, msg_id, ts, body_bytes)).decode()
    return any(version == "v1" and hmac.compare_digest(value, expected)
               for version, _, value in (e.partition(",") for e in signature_header.split(" ")))


# Every valid case verifies with the key it names; no rejected case verifies within the
# tolerance with any key it lists.
for entry in cases.entries:
    hdrs = dict(entry["headers"])
    sig, msg_id = hdrs.get("webhook-signature", ""), hdrs.get("webhook-id")
    ts = hdrs.get("webhook-timestamp", "")
    keys = dict((k["key_id"], k["secret"]) for k in entry["secrets"])
    if entry["expect"]["outcome"] == "ok":
        assert verifies(keys[entry["expect"]["key_id"]], sig, msg_id, ts, body(entry)), \
            entry["name"]
    else:
        fresh = ts.isdigit() and abs(entry["now"] - int(ts)) <= TOLERANCE
        assert not (fresh and any(verifies(k, sig, msg_id, ts, body(entry))
                                  for k in keys.values())), entry["name"]

write(__file__, PROVIDER, SPEC, cases)
