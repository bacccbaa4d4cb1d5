"""Shared shape of the provider conformance files (NAME.json), used by every NAME.py here.

A file is `{"provider", "spec", "cases"}`. Each case has the fields of
../signatures.json (name, source, headers as [name, value] pairs, body, now, tolerance,
expect) with `secrets` for HMAC and token providers, `public_keys` for asymmetric ones and
`private_key` (the signer's key) where a signature was computed here. A rejection
expects only `{"outcome": "rejected"}`: the case name says why.
"""

import base64
import json
import os
import re

REJECTED = {"outcome": "rejected"}


def ok(key_id, event_id=None, timestamp=None):
    """A valid case's expectation: accepted with `key_id`, and its event id and timestamp if any."""
    out = {"outcome": "ok", "key_id": key_id}
    if event_id is not None:
        out["event_id"] = event_id
    if timestamp is not None:
        out["timestamp"] = timestamp
    return out


class Cases:
    """The cases of one provider, in order, with unique names prefixed by the provider.

    A case without a source (neither its own nor `default_source`) has no `source` field;
    with `scheme`, every case names it in a `scheme` field; with `method`, every case that
    has a `url` carries that request method unless it gives its own.
    """

    def __init__(self, provider, default_source=None, tolerance=None, scheme=None, method=None):
        self.provider = provider
        self.default_source = default_source
        self.tolerance = tolerance
        self.scheme = scheme
        self.method = method
        self.entries = []

    def add(self, name, headers, body, now, expect, *, secrets=None, public_keys=None,
            private_key=None, source=None, note=None, method=None, url=None, **extra):
        """Appends a case; `secrets`/`public_keys` are (key_id, value) pairs.

        `url` and `method` are the request's, for schemes that sign them.
        """
        entry = {"name": f"{self.provider}: {name}"}
        if self.scheme is not None:
            entry["scheme"] = self.scheme
        source = source or self.default_source
        if source:
            entry["source"] = source
        if note:
            entry["note"] = note
        if secrets is not None:
            entry["secrets"] = [{"key_id": k, "secret": v} for k, v in secrets]
        if public_keys is not None:
            entry["public_keys"] = [{"key_id": k, "public_key": v} for k, v in public_keys]
        if private_key is not None:
            entry["private_key"] = private_key
        if url is not None:
            entry["method"] = method or self.method
            entry["url"] = url
        entry["headers"] = [[n, v] for n, v in headers]
        if isinstance(body, str):
            body = body.encode("utf-8")
        try:
            entry["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            entry["body_base64"] = base64.b64encode(body).decode()
        entry["now"] = now
        if self.tolerance is not None:
            entry["tolerance"] = self.tolerance
        entry.update(extra)
        entry["expect"] = expect
        self.entries.append(entry)

    def valid(self):
        """The cases a verifier must accept."""
        return [e for e in self.entries if e["expect"]["outcome"] == "ok"]


def header(entry, name):
    """The value of the one header `name` (lowercase) in a case."""
    values = [v for n, v in entry["headers"] if n == name]
    assert len(values) == 1, (entry["name"], name, values)
    return values[0]


def body(entry):
    """The body bytes of a case."""
    if "body" in entry:
        return entry["body"].encode("utf-8")
    return base64.b64decode(entry["body_base64"])


def write(script, provider, spec, cases):
    """Writes NAME.json next to `script`, one line per [name, value] header pair."""
    names = [c["name"] for c in cases.entries]
    assert len(names) == len(set(names)), "case names are unique"
    document = {"provider": provider, "spec": spec, "cases": cases.entries}
    text = json.dumps(document, indent=2, ensure_ascii=False)
    string = r'"(?:[^"\\]|\\.)*"'
    text = re.sub(r"\[\n\s+(" + string + r"),\n\s+(" + string + r")\n\s+\]", r"[\1, \2]", text)
    assert json.loads(text) == document
    path = os.path.join(os.path.dirname(os.path.abspath(script)), f"{provider}.json")
    with open(path, "w", encoding="utf-8") as out:
        out.write(text + "\n")
    print(f"wrote {len(cases.entries)} cases to {provider}.json")
