"""Checks every NAME.json here: its shape, and its deliveries' `expect` against the rules.

The rules below are a second, independent reading of each provider's envelope (the files
state theirs as prose), so a wrong `expect` or a wrong rule shows up as a mismatch.
Run: python3 check.py [FOLDER]   (FOLDER defaults to this file's folder)
"""
import json, sys, os, datetime, urllib.parse

D = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))

def ptr(doc, p):
    for part in p.strip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(doc, list):
            doc = doc[int(part)]
        elif isinstance(doc, dict) and part in doc:
            doc = doc[part]
        else:
            return None
    return doc

def hdr(h, name):
    for k, v in h.items():
        if k.lower() == name.lower():
            return v
    return None

def ts(v, unit):
    if v is None:
        return None
    if unit == "s":
        return datetime.datetime.fromtimestamp(float(v), datetime.timezone.utc)
    if unit == "ms":
        return datetime.datetime.fromtimestamp(v / 1000, datetime.timezone.utc)
    if unit == "rfc":
        return parse_rfc(v)
    if unit == "naive":
        return parse_rfc(v + "Z")
    raise ValueError(unit)

def parse_rfc(s):
    # Keeps up to 6 fractional digits: enough to compare instants here.
    s = s.replace("Z", "+00:00")
    if "." in s:
        head, rest = s.split(".", 1)
        i = 0
        while i < len(rest) and rest[i].isdigit():
            i += 1
        frac, tz = rest[:i], rest[i:]
        s = head + "." + (frac + "000000")[:6] + tz
    return datetime.datetime.fromisoformat(s)

# Per provider: (id, type, created). A source is ("body", JSON pointer) or ("header", name);
# created pairs a source with its unit; strings name the few rules with their own code below.
B = lambda p: ("body", p)
H = lambda n: ("header", n)
RULES = {
    "hopnow": (B("/id"), B("/type"), (B("/created"), "rfc")),
    "stripe": (B("/id"), B("/type"), (B("/created"), "s")),
    "standard": (H("webhook-id"), B("/type"), (B("/timestamp"), "rfc")),
    "clerk": (H("svix-id"), B("/type"), (B("/timestamp"), "ms")),
    "resend": (H("svix-id"), B("/type"), (B("/created_at"), "rfc")),
    "github": (H("X-GitHub-Delivery"), H("X-GitHub-Event"), None),
    "shopify": (H("X-Shopify-Webhook-Id"), H("X-Shopify-Topic"), (H("X-Shopify-Triggered-At"), "rfc")),
    "slack": (B("/event_id"), "slack", (B("/event_time"), "s")),
    "twilio": (H("I-Twilio-Idempotency-Token"), "twilio", None),
    "discord": ("discord-id", "discord-type", "discord-created"),
    "zoom": (None, B("/event"), (B("/event_ts"), "ms")),
    "twitch": (H("Twitch-Eventsub-Message-Id"), "twitch", (H("Twitch-Eventsub-Message-Timestamp"), "rfc")),
    "paddle": (B("/event_id"), B("/event_type"), (B("/occurred_at"), "rfc")),
    "linear": (H("Linear-Delivery"), B("/type"), (B("/createdAt"), "rfc")),
    "square": (B("/event_id"), B("/type"), (B("/created_at"), "rfc")),
    "sendgrid": ("batch", ("/sg_event_id", "/event", ("/timestamp", "s"))),
    "hubspot": ("batch", ("/eventId", "/subscriptionType", ("/occurredAt", "ms"))),
    "meta": (None, B("/object"), None),
    "intercom": (B("/id"), B("/topic"), (B("/created_at"), "s")),
    "bitbucket": (H("X-Request-UUID"), H("X-Event-Key"), None),
    "typeform": (B("/event_id"), B("/event_type"), (B("/form_response/submitted_at"), "rfc")),
    "calendly": (None, B("/event"), (B("/created_at"), "rfc")),
    "lemonsqueezy": (None, B("/meta/event_name"), None),
    "mailgun": (B("/event-data/id"), B("/event-data/event"), (B("/event-data/timestamp"), "s")),
    "twitter": (None, "twitter", None),
    "dropbox": (None, "literal:list_folder", None),
    "gitlab": (H("Idempotency-Key"), H("X-Gitlab-Event"), None),
    "mux": (B("/id"), B("/type"), (B("/created_at"), "rfc")),
    "vercel": (B("/id"), B("/type"), (B("/createdAt"), "ms")),
    "sentry": (H("Request-ID"), H("Sentry-Hook-Resource"), (H("Sentry-Hook-Timestamp"), "s")),
    "workos": (B("/id"), B("/event"), (B("/created_at"), "rfc")),
    "coinbase": (B("/event/id"), B("/event/type"), (B("/event/created_at"), "rfc")),
}

def get(src, h, body):
    kind, where = src
    return hdr(h, where) if kind == "header" else ptr(body, where)

def text(v):
    return None if v is None else str(v)

def same_time(got, want):
    if got is None or want is None:
        return got is None and want is None
    return got == parse_rfc(want)

bad = 0
files = sorted(f for f in os.listdir(D) if f.endswith(".json"))
for f in files:
    doc = json.load(open(os.path.join(D, f)))
    name = doc["provider"]
    assert f == name + ".json", f
    assert set(doc) == {"provider", "envelope", "deliveries"}, f
    assert {"id", "type", "created", "data", "notes"} <= set(doc["envelope"]), f
    rule = RULES[name]
    for d in doc["deliveries"]:
        assert set(d) - {"handshake"} == {"name", "source", "headers", "body", "expect"}, (f, d["name"])
        for k in d["headers"]:
            assert "signature" not in k.lower() and k.lower() not in ("x-gitlab-token", "x-hub-signature-256"), (f, k)
        h, raw, e = d["headers"], d["body"], d["expect"]
        if name == "twilio":
            assert hdr(h, "Content-Type") == "application/x-www-form-urlencoded"
            form = dict(urllib.parse.parse_qsl(raw, strict_parsing=True))
            got_id = hdr(h, "I-Twilio-Idempotency-Token")
            got_type = form.get("MessageStatus") or form.get("CallStatus") or form.get("SmsStatus")
            got = (got_id, got_type, None)
        else:
            body = json.loads(raw)
            if rule[0] == "batch":
                idp, tp, (cp, unit) = rule[1]
                assert isinstance(body, list)
                events = [(text(ptr(x, idp)), text(ptr(x, tp)), ts(ptr(x, cp), unit)) for x in body]
                assert len(events) == len(e["events"]), f
                for g, w in zip(events, e["events"]):
                    if g[0] != w["id"] or g[1] != w["type"] or not same_time(g[2], w["created"]):
                        print("MISMATCH", f, d["name"], g, w); bad += 1
                got = (None, None, None)
            else:
                ids, tys, cr = rule
                if ids == "discord-id":
                    # Webhook events ({version, application_id, type, event}) carry no id.
                    got_id = None if "event" in body else text(body.get("id"))
                elif ids is None:
                    got_id = None
                else:
                    got_id = text(get(ids, h, body))
                if tys == "slack":
                    got_type = ptr(body, "/event/type") or body.get("type")
                elif tys == "twitch":
                    got_type = "revocation" if hdr(h, "Twitch-Eventsub-Message-Type") == "revocation" else hdr(h, "Twitch-Eventsub-Subscription-Type")
                elif tys == "discord-type":
                    got_type = text(ptr(body, "/event/type") if "event" in body else body.get("type"))
                elif tys == "twitter":
                    names = [k for k in body if k.endswith("_events")]
                    assert len(names) == 1
                    got_type = names[0]
                elif isinstance(tys, str) and tys.startswith("literal:"):
                    got_type = tys.split(":", 1)[1]
                else:
                    got_type = text(get(tys, h, body))
                if cr == "discord-created":
                    got_created = ts(ptr(body, "/event/timestamp"), "naive") if "event" in body else None
                elif cr is None:
                    got_created = None
                else:
                    got_created = ts(get(cr[0], h, body), cr[1])
                got = (got_id, got_type, got_created)
        if got[0] != e["id"] or got[1] != e["type"] or not same_time(got[2], e["created"]):
            print("MISMATCH", f, d["name"], got, e); bad += 1
        if e["created"] is not None:
            assert e["created"].endswith("Z"), (f, e["created"])
print(len(files), "files checked;", bad, "mismatches")
sys.exit(1 if bad else 0)
