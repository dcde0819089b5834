"""The opening handshake (RFC 6455 section 4), as pure functions over header lists.

Server side: :func:`server_handshake` checks a request's method and fields and returns the
101 response's fields, the chosen subprotocol and the permessage-deflate agreement, or
raises :class:`HandshakeError` with the status to answer (400, 403 or 426) and the fields
that answer needs (section 4.2.2, 4.4; RFC 9110 section 15.5.22)::

    try:
        accepted = server_handshake(head.method, head.headers)
    except HandshakeError as err:
        ...  # answer err.status with err.headers, and log err
    ...      # answer 101 with accepted.headers, then Connection(Role.SERVER, ...)

Client side: :func:`client_handshake` makes the request's fields with a fresh key, and
:meth:`ClientHandshake.verify` checks the server's answer (section 4.1).

Header lists are ``(name, value)`` pairs of ``str`` (as :class:`cohttp.Headers` iterates)
or of ``bytes`` (as ASGI has them), decoded as Latin-1.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from .deflate import DEFAULT_DEFLATE, DeflateOptions, DeflateParams, NegotiationError
from .deflate import NAME as DEFLATE
from .protocol import WebSocketError

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
"""Section 1.3: appended to the key before hashing it into Sec-WebSocket-Accept."""

VERSION = "13"
"""Section 4.1: the only version this side speaks."""

Fields = Iterable[tuple[str, str]] | Iterable[tuple[bytes, bytes]]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]++")
_OWS = re.compile(r"[ \t]*+")
_QUOTED = re.compile(r'"((?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*+)"')
_ESCAPE = re.compile(r"\\(.)")


class HandshakeError(WebSocketError):
    """The opening handshake failed; the message says which rule.

    On the server side ``status`` is the answer to send (400 malformed, 403 origin refused,
    426 a version or upgrade we cannot do) with ``headers``; on the client side it is the
    status the server answered with (``101`` when that answer was itself invalid, ``0``
    when there was no valid HTTP answer at all).
    """

    def __init__(self, message: str, status: int, headers: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.headers = list(headers)


Extension = tuple[str, list[tuple[str, str | None]]]
"""One element of Sec-WebSocket-Extensions: the name and its ``(param, value)`` list."""


def parse_extensions(values: Iterable[str]) -> list[Extension]:
    """Parse Sec-WebSocket-Extensions field values (section 9.1); ValueError if malformed.

    Names are lowercased; a quoted value is unescaped and must then be a token.
    """
    text = ", ".join(values)
    n = len(text)
    pos = 0
    out: list[Extension] = []
    while True:
        pos = _skip(text, pos)
        if pos >= n:
            return out
        if text[pos] == ",":  # empty list elements are allowed (RFC 9110 5.6.1)
            pos += 1
            continue
        name, pos = _token(text, pos, "extension name")
        params: list[tuple[str, str | None]] = []
        while True:
            pos = _skip(text, pos)
            if pos >= n or text[pos] == ",":
                break
            if text[pos] != ";":
                raise ValueError(f"expected ';' or ',' at {pos} in {text!r}")
            param, pos = _token(text, _skip(text, pos + 1), "parameter name")
            pos = _skip(text, pos)
            value: str | None = None
            if pos < n and text[pos] == "=":
                pos = _skip(text, pos + 1)
                m = _QUOTED.match(text, pos)
                if m is not None:
                    value = _ESCAPE.sub(r"\1", m.group(1))
                    if _TOKEN.fullmatch(value) is None:
                        raise ValueError(f"quoted value {value!r} is not a token (section 9.1)")
                    pos = m.end()
                else:
                    value, pos = _token(text, pos, "parameter value")
            params.append((param, value))
        out.append((name, params))


def _skip(text: str, pos: int) -> int:
    m = _OWS.match(text, pos)
    return pos if m is None else m.end()


def _token(text: str, pos: int, what: str) -> tuple[str, int]:
    m = _TOKEN.match(text, pos)
    if m is None:
        raise ValueError(f"expected a token ({what}) at {pos} in {text!r}")
    return m.group().lower() if what != "parameter value" else m.group(), m.end()


def accept_key(key: str) -> str:
    """Sec-WebSocket-Accept for ``key``: base64 of SHA-1 of key + GUID (section 4.2.2)."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode("ascii")).digest()).decode("ascii")


def _fields(fields: Fields) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in fields:
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        out.setdefault(name.lower(), []).append(value)
    return out


def _list(values: list[str] | None) -> list[str]:
    """The elements of a comma-separated list field (RFC 9110 5.6.1), OWS stripped."""
    if not values:
        return []
    return [e for v in values for e in (s.strip(" \t") for s in v.split(",")) if e]


_UPGRADE_HEADERS = [
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Version", VERSION),
]


@dataclass(frozen=True, slots=True)
class Accepted:
    """A handshake that succeeded: what was agreed."""

    headers: list[tuple[str, str]]
    """Server side: the 101 response's fields. Client side: the server's fields."""
    subprotocol: str | None
    deflate: DeflateParams | None


def server_handshake(
    method: str,
    headers: Fields,
    *,
    http_version: str = "HTTP/1.1",
    subprotocols: Sequence[str] = (),
    deflate: DeflateOptions | None = DEFAULT_DEFLATE,
    origins: Collection[str] | None = None,
) -> Accepted:
    """Check a client's opening handshake (section 4.2.1) and make the answer (4.2.2).

    ``subprotocols`` lists what this server speaks, preferred first; the first one the
    client also offered is chosen. ``deflate=None`` refuses compression. ``origins``, when
    given, is the allow-list for the Origin field (403 for any other, section 4.2.2).
    Raises :class:`HandshakeError`: 426 (with ``Upgrade``/``Sec-WebSocket-Version``) when
    the request does not ask for websocket version 13, 400 when it is malformed.
    """
    h = _fields(headers)
    upgrade = [t.lower() for t in _list(h.get("upgrade"))]
    if "websocket" not in upgrade:
        raise HandshakeError("Upgrade: websocket missing (RFC 6455 4.2.1)", 426, _UPGRADE_HEADERS)
    if method != "GET":
        raise HandshakeError(f"the opening handshake must be a GET, not {method} (4.1)", 400)
    if http_version in ("HTTP/1.0", "HTTP/0.9"):
        raise HandshakeError(f"the opening handshake needs HTTP/1.1, not {http_version}", 400)
    if len(h.get("host", ())) != 1:
        raise HandshakeError("the request must have exactly one Host field (4.2.1)", 400)
    if "upgrade" not in (t.lower() for t in _list(h.get("connection"))):
        raise HandshakeError("Connection: Upgrade missing (RFC 6455 4.2.1)", 400)
    versions = h.get("sec-websocket-version", [])
    if _list(versions) != [VERSION]:
        if not versions:
            raise HandshakeError("Sec-WebSocket-Version missing (4.2.1)", 426, _UPGRADE_HEADERS)
        raise HandshakeError(
            f"Sec-WebSocket-Version {', '.join(versions)!r} is not supported; only 13 (4.4)",
            426,
            _UPGRADE_HEADERS,
        )
    keys = h.get("sec-websocket-key", [])
    if len(keys) != 1:
        raise HandshakeError("the request must have exactly one Sec-WebSocket-Key (4.2.1)", 400)
    key = keys[0].strip(" \t")
    try:
        raw = base64.b64decode(key.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raw = b""
    if len(raw) != 16:
        raise HandshakeError(
            f"Sec-WebSocket-Key {key[:40]!r} is not 16 bytes in base64 (4.2.1)", 400
        )
    if origins is not None:
        origin = h.get("origin", [])
        if len(origin) != 1 or origin[0] not in origins:
            raise HandshakeError(f"origin {', '.join(origin) or '(none)'} is not allowed", 403)
    response = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept_key(key)),
    ]
    chosen: str | None = None
    offered = _list(h.get("sec-websocket-protocol"))
    for name in subprotocols:
        if name in offered:
            chosen = name
            response.append(("Sec-WebSocket-Protocol", name))
            break
    agreed: DeflateParams | None = None
    if deflate is not None and "sec-websocket-extensions" in h:
        try:
            extensions = parse_extensions(h["sec-websocket-extensions"])
        except ValueError as exc:
            raise HandshakeError(f"malformed Sec-WebSocket-Extensions: {exc}", 400) from None
        for name, params in extensions:
            if name != DEFLATE:
                continue
            try:
                agreed, element = deflate.accept(params)
            except NegotiationError:
                continue  # declined; the client may have offered something else
            response.append(("Sec-WebSocket-Extensions", element))
            break
    return Accepted(response, chosen, agreed)


@dataclass(frozen=True, slots=True)
class ClientHandshake:
    """A client's opening request (section 4.1) and what it offered."""

    key: str
    headers: list[tuple[str, str]]
    """The request's fields (Host first); send them with ``GET <path> HTTP/1.1``."""
    subprotocols: tuple[str, ...] = ()
    deflate: DeflateOptions | None = None

    def verify(self, status: int, headers: Fields) -> Accepted:
        """Check the server's answer (section 4.1, the client's list); HandshakeError if bad."""
        if status != 101:
            raise HandshakeError(f"the server answered {status}, not 101", status)
        h = _fields(headers)
        if "websocket" not in (t.lower() for t in _list(h.get("upgrade"))):
            raise HandshakeError("the 101 answer lacks Upgrade: websocket (4.1)", 101)
        if "upgrade" not in (t.lower() for t in _list(h.get("connection"))):
            raise HandshakeError("the 101 answer lacks Connection: Upgrade (4.1)", 101)
        accepts = h.get("sec-websocket-accept", [])
        if len(accepts) != 1 or accepts[0].strip(" \t") != accept_key(self.key):
            raise HandshakeError("Sec-WebSocket-Accept does not match the key (4.1)", 101)
        protocols = _list(h.get("sec-websocket-protocol"))
        subprotocol: str | None = None
        if protocols:
            if len(protocols) != 1 or protocols[0] not in self.subprotocols:
                raise HandshakeError(
                    f"the server chose subprotocol {', '.join(protocols)!r}, not offered (4.1)",
                    101,
                )
            subprotocol = protocols[0]
        agreed: DeflateParams | None = None
        if "sec-websocket-extensions" in h:
            try:
                extensions = parse_extensions(h["sec-websocket-extensions"])
            except ValueError as exc:
                raise HandshakeError(f"malformed Sec-WebSocket-Extensions: {exc}", 101) from None
            for name, params in extensions:
                if name != DEFLATE or self.deflate is None or agreed is not None:
                    raise HandshakeError(
                        f"the server accepted extension {name!r}, which was not offered (4.1)",
                        101,
                    )
                try:
                    agreed = self.deflate.confirm(params)
                except NegotiationError as exc:
                    raise HandshakeError(str(exc), 101) from None
        return Accepted(list(_pairs(headers)), subprotocol, agreed)


def _pairs(fields: Fields) -> Iterable[tuple[str, str]]:
    for name, value in fields:
        yield (
            name.decode("latin-1") if isinstance(name, bytes) else name,
            value.decode("latin-1") if isinstance(value, bytes) else value,
        )


def client_handshake(
    host: str,
    *,
    subprotocols: Sequence[str] = (),
    deflate: DeflateOptions | None = DEFAULT_DEFLATE,
    origin: str | None = None,
    extra_headers: Iterable[tuple[str, str]] = (),
) -> ClientHandshake:
    """The fields of a client's opening request with a fresh random key (section 4.1).

    ``host`` is the Host field's value (with ``:port`` when not the default).
    """
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    fields = [
        ("Host", host),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key),
        ("Sec-WebSocket-Version", VERSION),
    ]
    if origin is not None:
        fields.append(("Origin", origin))
    if subprotocols:
        fields.append(("Sec-WebSocket-Protocol", ", ".join(subprotocols)))
    if deflate is not None:
        fields.append(("Sec-WebSocket-Extensions", deflate.offer()))
    fields.extend(extra_headers)
    return ClientHandshake(key, fields, tuple(subprotocols), deflate)
