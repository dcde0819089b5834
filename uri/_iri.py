"""IRIs (RFC 3987): the mapping of an IRI to its URI (§3.1) and back for display (§3.2)."""

from __future__ import annotations

import re

from . import _grammar as G
from ._errors import UriError
from ._pct import _escape_match
from .idna import to_ascii, to_unicode

# RFC 3987 §2.2: ucschar, and iprivate (allowed in the query only)
_UCSCHAR = (
    "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef"
    + "".join(f"\\U{p:04X}0000-\\U{p:04X}FFFD" for p in range(1, 14))
    + "\\U000E1000-\\U000EFFFD"
)
_IPRIVATE = "\ue000-\uf8ff\\U000F0000-\\U000FFFFD\\U00100000-\\U0010FFFD"
# §4.1: IRIs MUST NOT hold the bidi formatting characters (LRM, RLM, LRE..RLO; and the
# isolates LRI..PDI that Unicode added since)
_BIDI_FORMAT = "\u200e\u200f\u202a-\u202e\u2066-\u2069"
_BAD = re.compile(f"[^\x00-\x7f{_UCSCHAR}]|[{_BIDI_FORMAT}]")
_BAD_IN_QUERY = re.compile(f"[^\x00-\x7f{_UCSCHAR}{_IPRIVATE}]|[{_BIDI_FORMAT}]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})++")


def idna_host(host: str) -> str:
    """A reg-name as its A-label form, by UTS #46 ToASCII with the flags WHATWG URL uses
    for hosts (no hyphen, STD3 or DNS length rules: ``r3---sn-x.example`` and ``_dmarc``
    labels exist), then checked against the RFC 3986 reg-name grammar."""
    a = to_ascii(host, check_hyphens=False, use_std3_ascii_rules=False, verify_dns_length=False)
    if G.REG_NAME_RE.match(a) is None:
        bad = next(c for c in a if not (c.isalnum() or c in "-._~!$&'()*+,;="))
        raise UriError("host", -1, f"{bad!r} is not allowed in a host name", host)
    return a


def _encode(part: str, start: int, text: str, bad: re.Pattern[str] = _BAD) -> str:
    """``part`` (at ``start`` in ``text``) with its non-ASCII characters as UTF-8 escapes."""
    if part.isascii():
        return part
    m = bad.search(part)
    if m is not None:
        c = m.group()
        raise UriError(
            "iri",
            start + m.start(),
            f"U+{ord(c):04X} is not allowed in an IRI here (RFC 3987 §2.2, §4.1)",
            text,
        )
    return _NON_ASCII.sub(_escape_match, part)


def iri_to_uri_text(text: str) -> str:
    """RFC 3987 §3.1: the URI text of the IRI ``text``; a non-ASCII reg-name goes through
    :func:`idna_host`, every other non-ASCII character becomes its UTF-8 escapes."""
    m = G.APPENDIX_B.match(text)
    assert m is not None  # it matches every string
    scheme, authority, path, query, fragment = m.groups()
    out = []
    if scheme is not None:
        out.append(_encode(scheme, 0, text) + ":")
    if authority is not None:
        a0 = m.start(2)
        userinfo, at, hostport = authority.rpartition("@")
        out.append("//")
        if at:
            out.append(_encode(userinfo, a0, text) + "@")
        h0 = a0 + len(userinfo) + len(at)
        if hostport.startswith("["):
            out.append(_encode(hostport, h0, text))
        else:
            host, colon, port = hostport.partition(":")
            if not host.isascii():
                _encode(host, h0, text)  # only the characters an IRI allows
                host = idna_host(host)
            out.append(host + colon + _encode(port, h0 + len(host) + 1, text))
    out.append(_encode(path, m.start(3), text))
    if query is not None:
        out.append("?" + _encode(query, m.start(4), text, _BAD_IN_QUERY))
    if fragment is not None:
        out.append("#" + _encode(fragment, m.start(5), text))
    return "".join(out)


def _decodable(c: str, private_ok: bool) -> bool:
    return (_BAD_IN_QUERY if private_ok else _BAD).match(c) is None


def _decode_run(run: str, private_ok: bool) -> str:
    b = bytes.fromhex(run.replace("%", ""))
    out = []
    i = 0
    while i < len(b):
        lead = b[i]
        n = (
            2
            if 0xC2 <= lead <= 0xDF
            else 3
            if 0xE0 <= lead <= 0xEF
            else 4
            if 0xF0 <= lead <= 0xF4
            else 0
        )
        if n:
            try:
                c = b[i : i + n].decode("utf-8")
            except UnicodeDecodeError:
                c = ""
            if len(c) == 1 and _decodable(c, private_ok):
                out.append(c)
                i += n
                continue
        out.append(run[3 * i : 3 * i + 3])
        i += 1
    return "".join(out)


def decode_for_iri(raw: str, *, private_ok: bool = False) -> str:
    """RFC 3987 §3.2 steps 1-3: the escapes in ``raw`` that are the UTF-8 of a character an
    IRI allows (not ASCII, not a bidi formatting character) decoded; every other escape kept
    as written."""
    if "%" not in raw:
        return raw
    return _ESCAPES.sub(lambda m: _decode_run(m.group(), private_ok), raw)


def host_for_iri(host: str) -> str:
    """A reg-name with its A-labels as Unicode, when that maps back to the same text."""
    if "xn--" not in host.lower():
        return host
    try:
        u = to_unicode(host, check_hyphens=False, use_std3_ascii_rules=False)
        if idna_host(u) == host:
            return u
    except UriError:
        pass
    return host
