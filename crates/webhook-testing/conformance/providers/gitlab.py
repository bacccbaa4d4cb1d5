#!/usr/bin/env python3
"""Writes gitlab.json: GitLab's webhook secret token (X-Gitlab-Token), with conformance cases.

Run it from any folder: `python3 gitlab.py` (Python 3.11 standard library). There is no
signature: GitLab sends the configured secret token itself in X-Gitlab-Token, and the
receiver compares it with its copy in constant time. GitLab's newer signing token (an
HMAC, Standard Webhooks style) is in gitlab_signing.py.

Source: gitlabhq/gitlabhq app/services/web_hook_service.rb (build_headers) and
lib/gitlab/web_hooks.rb (header names).
"""

import hmac

from _conformance import REJECTED, Cases, ok, write

PROVIDER = "gitlab"
SOURCE = ("gitlabhq/gitlabhq: app/services/web_hook_service.rb (build_headers: "
          "X-Gitlab-Token = Gitlab::Utils.remove_line_breaks(hook.token), Idempotency-Key) and "
          "lib/gitlab/web_hooks.rb (X-Gitlab-Event, X-Gitlab-Instance, X-Gitlab-Webhook-UUID); "
          "docs: https://docs.gitlab.com/user/project/integrations/webhooks/ (Secret token)")
COMPUTED = "built here: X-Gitlab-Token carries the configured secret token"

SPEC = {
    "source": SOURCE,
    "signature_header": "X-Gitlab-Token",
    "layout": "<the secret token, verbatim> (no prefix, no signature)",
    "algorithm": "token (constant-time equality with the configured secret)",
    "encoding": "none (the token's text)",
    "signed_content": "none: the body, timestamp and id are not covered",
    "timestamp": "none",
    "tolerance_seconds": None,
    "event_id": ("header Idempotency-Key (a UUID, the same on every retry of a delivery); "
                 "X-Gitlab-Webhook-UUID is new on every attempt, X-Gitlab-Event-UUID "
                 "(recursion detection) is shared by the hooks one request triggers"),
    "event_type": "header X-Gitlab-Event (Push Hook, Merge Request Hook, ...); body object_kind",
    "key_form": "raw secret text chosen by the user (the hook's Secret token)",
    "needs_url": False,
    "notes": (
        "Authentication only: anyone who sees one request can replay it or change its body, "
        "so the changed-body case is accepted. GitLab removes line breaks from the token "
        "before sending it (Gitlab::Utils.remove_line_breaks), so a configured token that "
        "contains them must be compared without them. The header is sent only when a token "
        "is set. A hook can have both this token and a signing token (gitlab_signing.json); "
        "both headers then arrive on the same request. Compare in constant time; there is no "
        "SDK on the receiving side. No handshake."
    ),
}

TOKEN = "gitlab-secret-token-k1"
OTHER = "gitlab-secret-token-k2"
IDEMPOTENCY_KEY = "7a4b5e52-2d4b-4c43-9f1a-3f4c2d1e0b9a"
NOW = 1_700_000_005
PUSH = (b'{"object_kind":"push","event_name":"push","before":'
        b'"95790bf891e76fee5e1747ab589903a6a1f80f22","after":'
        b'"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","ref":"refs/heads/master",'
        b'"checkout_sha":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","user_id":4,'
        b'"user_name":"John Smith","user_username":"jsmith","project_id":15,'
        b'"project":{"id":15,"name":"Diaspora","path_with_namespace":"mike/diaspora",'
        b'"default_branch":"master"},"commits":[],"total_commits_count":0}')


def headers(token):
    out = [("content-type", "application/json"), ("user-agent", "GitLab/19.0.0"),
           ("idempotency-key", IDEMPOTENCY_KEY), ("x-gitlab-event", "Push Hook"),
           ("x-gitlab-webhook-uuid", "0c8f5b1e-4a1b-4a47-8d8e-0f6a9c2b7d31"),
           ("x-gitlab-instance", "https://gitlab.example.com")]
    if token is not None:
        out.append(("x-gitlab-token", token))
    return out


cases = Cases(PROVIDER, COMPUTED)
k1 = {"secrets": [("k1", TOKEN)]}

cases.add("push with the token", headers(TOKEN), PUSH, NOW, ok("k1", IDEMPOTENCY_KEY), **k1)
cases.add("two keys, the second matches", headers(OTHER), PUSH, NOW, ok("k2", IDEMPOTENCY_KEY),
          secrets=[("k1", TOKEN), ("k2", OTHER)])
cases.add("changed body, still accepted (the token covers no content)", headers(TOKEN),
          PUSH.replace(b"John Smith", b"Jane Smith"), NOW, ok("k1", IDEMPOTENCY_KEY), **k1)
cases.add("wrong token", headers(TOKEN), PUSH, NOW, REJECTED, secrets=[("k1", OTHER)])
cases.add("truncated token", headers(TOKEN[:-1]), PUSH, NOW, REJECTED, **k1)
cases.add("token with a different case", headers(TOKEN.upper()), PUSH, NOW, REJECTED, **k1)
cases.add("token with a suffix", headers(TOKEN + "x"), PUSH, NOW, REJECTED, **k1)
cases.add("empty token header", headers(""), PUSH, NOW, REJECTED, **k1)
cases.add("no token header", headers(None), PUSH, NOW, REJECTED, **k1)

# Valid cases carry a configured token, compared in constant time; no rejected case does.
for entry in cases.entries:
    token = dict(entry["headers"]).get("x-gitlab-token")
    keys = dict((k["key_id"], k["secret"]) for k in entry["secrets"])
    matches = [k for k, v in keys.items() if token and hmac.compare_digest(token, v)]
    if entry["expect"]["outcome"] == "ok":
        assert matches == [entry["expect"]["key_id"]], entry["name"]
    else:
        assert not matches, entry["name"]

write(__file__, PROVIDER, SPEC, cases)
