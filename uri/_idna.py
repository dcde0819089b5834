"""IDNA: Unicode host names to A-labels (``xn--...``) and back.

What this implements (Python's own ``idna`` codec is IDNA 2003, with its obsolete
nameprep; this is closer to what browsers do today):

* mapping, UTS #46 style, non-transitional: NFKC, lowercase (``ß`` and ``ς`` are kept,
  not folded to ``ss``/``σ``), the ideographic full stops ``。．｡`` taken as ``.``;
* per label, IDNA 2008 style checks: NFC, only letters, marks, digits and ``-``; no
  leading combining mark; no ``-`` at either end; no ``--`` in positions 3-4 unless the
  label is an A-label; an A-label must decode and encode back to itself;
* ASCII labels: letters, digits, ``-`` (not at either end) and ``_``;
* lengths: a label 1..63 octets and the name at most 253 (a final root ``.`` allowed);
* punycode by the stdlib's RFC 3492 codec.

Not implemented: the Bidi rule (RFC 5893) and the CONTEXTJ/CONTEXTO rules.
"""

from __future__ import annotations

import re
import unicodedata

from ._errors import UriError

# ASCII labels: letters, digits, hyphen (not at either end), and "_" which DNS names use
_LDH = re.compile(r"(?!-)[a-z0-9_-]+(?<!-)\Z")
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def _map(name: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).lower()).translate(
        _DOTS
    )


def _check_ulabel(label: str, name: str, pos: int) -> None:
    if unicodedata.normalize("NFC", label) != label:
        raise UriError("host", pos, f"label {label!r} is not in NFC", name)
    if label[0] == "-" or label[-1] == "-":
        raise UriError("host", pos, f"label {label!r} starts or ends with '-'", name)
    if label[2:4] == "--":
        raise UriError("host", pos, f"label {label!r} has '--' in positions 3-4", name)
    if unicodedata.category(label[0])[0] == "M":
        raise UriError("host", pos, f"label {label!r} starts with a combining mark", name)
    for c in label:
        if c == "-" or (c.isascii() and c.isalnum()):
            continue
        cat = unicodedata.category(c)
        if cat[0] not in "LMN" or c.isascii():
            raise UriError(
                "host", pos, f"character {c!r} (U+{ord(c):04X}) not allowed in a host label", name
            )


def _decode_alabel(label: str, name: str, pos: int) -> str:
    label = label.lower()
    try:
        u = label[4:].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError):
        raise UriError("host", pos, f"{label!r} is not a valid A-label", name)
    if not u or u.isascii():
        raise UriError("host", pos, f"{label!r} is not a valid A-label", name)
    _check_ulabel(u, name, pos)
    if "xn--" + u.encode("punycode").decode("ascii") != label.lower():
        raise UriError("host", pos, f"{label!r} does not encode back to itself", name)
    return u


def _labels(name: str) -> list[str]:
    labels = name.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()  # the root
    return labels


def _check_lengths(ascii_name: str, original: str) -> None:
    total = len(ascii_name[:-1] if ascii_name.endswith(".") else ascii_name)
    if total > 253:
        raise UriError("host", 0, f"name is {total} octets long, over 253", original)


def idna_encode(host: str) -> str:
    """A Unicode host name as its ASCII form: each non-ASCII label as its A-label."""
    name = _map(host)
    out = []
    pos = 0
    for label in _labels(name):
        if not label:
            raise UriError("host", pos, "empty label", host)
        if label.isascii():
            if label.startswith("xn--"):
                _decode_alabel(label, host, pos)
            elif not _LDH.match(label):
                raise UriError(
                    "host", pos, f"label {label!r} is not letters, digits, '-', '_'", host
                )
            a = label
        else:
            _check_ulabel(label, host, pos)
            a = "xn--" + label.encode("punycode").decode("ascii")
        if len(a) > 63:
            raise UriError("host", pos, f"label {label!r} is {len(a)} octets long, over 63", host)
        out.append(a)
        pos += len(label) + 1
    result = ".".join(out) + ("." if name.endswith(".") and len(name) > 1 else "")
    _check_lengths(result, host)
    return result


def idna_decode(host: str) -> str:
    """An ASCII host name with its A-labels as Unicode (U-labels), checked."""
    out = []
    pos = 0
    for label in _labels(host):
        if not label:
            raise UriError("host", pos, "empty label", host)
        if len(label) > 63:
            raise UriError("host", pos, f"label is {len(label)} octets long, over 63", host)
        if label[:4].lower() == "xn--":
            out.append(_decode_alabel(label, host, pos))
        else:
            out.append(label.lower() if label.isascii() else label)
        pos += len(label) + 1
    _check_lengths(host, host)
    return ".".join(out) + ("." if host.endswith(".") and len(host) > 1 else "")
