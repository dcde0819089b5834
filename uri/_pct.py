"""Percent-encoding per component (RFC 3986 §2.1, §2.4)."""

from __future__ import annotations

import re
from collections.abc import Callable

from ._errors import UriError
from ._grammar import PCT_RUN, PCT_TRIPLET, RESERVED_CHARS, UNRESERVED_CHARS

_UNRESERVED_RE = r"A-Za-z0-9\-._~"

#: characters each component leaves literal, beyond the unreserved ones
COMPONENT_SAFE: dict[str, str] = {
    "generic": "",
    "userinfo": "!$&'()*+,;=:",
    "user": "!$&'()*+,;=",
    "password": "!$&'()*+,;=:",
    "host": "!$&'()*+,;=",
    "zone": "",
    "path": "!$&'()*+,;=:@/",
    "path_segment": "!$&'()*+,;=:@",
    "query": "!$&'()*+,;=:@/?",
    # a key or a value inside a query: the pair delimiters "&" and "=" are encoded, and so
    # are "+" (so that a form decoder cannot misread it) and ";" (old servers split on it)
    "query_key": "!$'()*,:@/?",
    "query_value": "!$'()*,:@/?",
    "fragment": "!$&'()*+,;=:@/?",
    # application/x-www-form-urlencoded (WHATWG URL §5.2): space becomes "+"
    "form": "*",
}

_HEX = "0123456789ABCDEF"
_BYTE_ESC = tuple("%" + _HEX[b >> 4] + _HEX[b & 15] for b in range(256))


def _escape_char(c: str) -> str:
    return "".join(_BYTE_ESC[b] for b in c.encode("utf-8", "surrogateescape"))


def _escape_match(m: re.Match[str]) -> str:
    return "".join(_BYTE_ESC[b] for b in m.group().encode("utf-8", "surrogateescape"))


def _form_escape_match(m: re.Match[str]) -> str:
    return "".join("+" if c == " " else _escape_char(c) for c in m.group())


def _cls(safe: str) -> str:
    return _UNRESERVED_RE + re.escape(safe)


# chars to escape: everything outside the component's set ("%" included)
_STRICT: dict[str, re.Pattern[str]] = {
    name: re.compile(rf"[^{_cls(safe)}]+") for name, safe in COMPONENT_SAFE.items()
}
# same, but a "%" that starts a valid escape is kept as that escape
_KEEP: dict[str, re.Pattern[str]] = {
    name: re.compile(rf"(?:%(?![0-9A-Fa-f]{{2}})|[^{_cls(safe)}%])+")
    for name, safe in COMPONENT_SAFE.items()
}
_FORM_STRICT = re.compile(rf"[^{_cls('*')}]+")


def pct_encode(text: str, component: str = "generic", *, keep_escapes: bool = False) -> str:
    """Percent-encode ``text`` for use as ``component``.

    Every character outside the component's allowed set is written as the
    ``%XX`` escapes of its UTF-8 octets (uppercase hex). ``component`` is one of
    ``generic`` (unreserved only), ``userinfo``, ``user``, ``password``, ``host``,
    ``zone``, ``path``, ``path_segment``, ``query``, ``query_key``, ``query_value``,
    ``fragment`` or ``form`` (``application/x-www-form-urlencoded``: space as ``+``).

    ``%`` is always encoded, unless ``keep_escapes`` is true: then a ``%`` followed
    by two hex digits is taken to be an escape already and kept.
    """
    if component == "form":
        pat = _KEEP["form"] if keep_escapes else _FORM_STRICT
        return pat.sub(_form_escape_match, text)
    try:
        pat = (_KEEP if keep_escapes else _STRICT)[component]
    except KeyError:
        raise ValueError(f"unknown component {component!r}; one of {sorted(COMPONENT_SAFE)}")
    return pat.sub(_escape_match, text)


def encoder(component: str, *, keep_escapes: bool = False) -> Callable[[str], str]:
    """A fast one-argument encoder for ``component`` (see :func:`pct_encode`)."""
    sub = (_KEEP if keep_escapes else _STRICT)[component].sub
    if component == "form" and not keep_escapes:
        fsub = _FORM_STRICT.sub
        return lambda text: fsub(_form_escape_match, text)
    if component == "form":
        return lambda text: sub(_form_escape_match, text)
    return lambda text: sub(_escape_match, text)


_BAD_PCT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def pct_decode_bytes(text: str, *, plus: bool = False, strict: bool = True) -> bytes:
    """Decode every ``%XX`` escape of ``text`` to octets (``+`` to space if ``plus``).

    With ``strict`` (the default) a ``%`` not followed by two hex digits raises
    :class:`UriError`; otherwise it is kept as it is. Non-ASCII characters are
    taken as their UTF-8 octets.
    """
    if plus:
        text = text.replace("+", " ")
    if strict:
        bad = _BAD_PCT.search(text)
        if bad is not None:
            raise UriError(
                "percent-encoding", bad.start(), "'%' not followed by two hex digits", text
            )
    out = bytearray()
    pos = 0
    for m in PCT_TRIPLET.finditer(text):
        out += text[pos : m.start()].encode("utf-8", "surrogateescape")
        out.append(int(m.group(1), 16))
        pos = m.end()
    out += text[pos:].encode("utf-8", "surrogateescape")
    return bytes(out)


def _decode_run(m: re.Match[str]) -> str:
    run = m.group()
    return bytes.fromhex(run.replace("%", "")).decode("utf-8", "replace")


def pct_decode(
    text: str, *, plus: bool = False, errors: str = "replace", strict: bool = True
) -> str:
    """Decode every ``%XX`` escape of ``text`` as UTF-8.

    ``plus=True`` also turns ``+`` into a space (form decoding). ``errors`` is the
    codec error handler for octets that are not UTF-8 (``"replace"`` by default;
    ``"surrogateescape"`` is lossless and :func:`pct_encode` takes it back).
    ``strict``: see :func:`pct_decode_bytes`.
    """
    if plus:
        text = text.replace("+", " ")
    if "%" not in text:
        return text
    if strict:
        bad = _BAD_PCT.search(text)
        if bad is not None:
            raise UriError(
                "percent-encoding", bad.start(), "'%' not followed by two hex digits", text
            )
    if errors == "replace":
        return PCT_RUN.sub(_decode_run, text)
    return PCT_RUN.sub(
        lambda m: bytes.fromhex(m.group().replace("%", "")).decode("utf-8", errors), text
    )


# --- the decoded *view* of a component ------------------------------------------------
# Decodes only what cannot change the meaning: escapes of reserved characters (gen-delims,
# sub-delims) and of "%" itself stay as they are, and so do octets that are not UTF-8.
# Everything else (unreserved, space, controls, other ASCII, UTF-8 text) is decoded.
_KEEP_IN_VIEW = RESERVED_CHARS | {"%"}


def _view_run(m: re.Match[str]) -> str:
    run = m.group()
    raw = bytes.fromhex(run.replace("%", ""))
    text = raw.decode("utf-8", "surrogateescape")
    out = []
    i = 0  # index of the current octet in ``raw`` (its escape is run[3*i:3*i+3])
    for c in text:
        o = ord(c)
        if o < 0x80:
            out.append(run[3 * i : 3 * i + 3] if c in _KEEP_IN_VIEW else c)
            i += 1
        elif 0xDC80 <= o <= 0xDCFF:  # an octet that is not UTF-8: keep its escape
            out.append(run[3 * i : 3 * i + 3])
            i += 1
        else:
            out.append(c)
            i += len(c.encode("utf-8"))
    return "".join(out)


def decode_view(raw: str) -> str:
    """The decoded view of a raw component (see module comment)."""
    if "%" not in raw:
        return raw
    return PCT_RUN.sub(_view_run, raw)


# --- normalisation of escapes (RFC 3986 §6.2.2.1, §6.2.2.2) ----------------------------
def _norm_triplet(m: re.Match[str]) -> str:
    c = chr(int(m.group(1), 16))
    if c in UNRESERVED_CHARS:
        return c
    return m.group().upper()


def normalize_escapes(raw: str) -> str:
    """Uppercase the hex of every escape and decode the escapes of unreserved characters."""
    if "%" not in raw:
        return raw
    return PCT_TRIPLET.sub(_norm_triplet, raw)


_HOST_PARTS = re.compile(r"%[0-9A-Fa-f]{2}|[^%]+")


def _norm_host_part(m: re.Match[str]) -> str:
    s = m.group()
    if s[0] == "%":
        c = chr(int(s[1:], 16))
        return c.lower() if c in UNRESERVED_CHARS else s.upper()
    return s.lower()


def normalize_reg_name(raw: str) -> str:
    """Lowercase a reg-name (escapes: uppercase hex, unreserved decoded and lowercased)."""
    if "%" not in raw:
        return raw.lower()
    return _HOST_PARTS.sub(_norm_host_part, raw)
