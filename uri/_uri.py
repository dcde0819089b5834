"""The Uri value: parse, accessors, builders, resolution and normalisation."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import _grammar as G
from ._errors import UriError
from ._iri import decode_for_iri, host_for_iri, idna_host, iri_to_uri_text
from ._pct import (
    decode_view,
    encoder,
    normalize_escapes,
    normalize_reg_name,
    pct_decode,
    pct_encode,
)
from ._query import Query, QueryInput, encode_pairs

_MATCH = G.URI_REFERENCE.match
_ORIGIN_MATCH = G.ORIGIN_FORM.match
_new = object.__new__

_enc_userinfo = encoder("userinfo", keep_escapes=True)
_enc_host = encoder("host", keep_escapes=True)
_enc_zone = encoder("zone", keep_escapes=True)
_enc_path = encoder("path", keep_escapes=True)
_enc_segment = encoder("path_segment")
_enc_query = encoder("query", keep_escapes=True)
_enc_fragment = encoder("fragment", keep_escapes=True)


class Uri:
    """An immutable RFC 3986 URI-reference.

    ``Uri(text)`` / ``Uri.parse(text)`` parse strictly; ``str(uri)`` is the text
    exactly as given. ``raw_*`` accessors return components as they are in the text
    (``None`` when absent, ``""`` when present but empty); the plain accessors return
    decoded views, computed only when asked.
    """

    # The components live in ``_g``: the parser's match object itself (so that parsing
    # builds nothing but the match), or a tuple indexed the same way when built from parts:
    # 0 text, 1 scheme, 2 userinfo, 3 host, 4 port, 5 path, 6 query, 7 fragment.
    __slots__ = ("_g", "_q")
    _g: re.Match[str] | tuple[Any, ...]
    _q: Query

    if TYPE_CHECKING:
        _text: str
        _scheme: str | None
        _userinfo: str | None
        _host: str | None
        _port: str | None
        _path: str
        _query: str | None
        _fragment: str | None
    else:
        _text = property(lambda self: self._g[0])
        _scheme = property(lambda self: self._g[1])
        _userinfo = property(lambda self: self._g[2])
        _host = property(lambda self: self._g[3])
        _port = property(lambda self: self._g[4])
        _path = property(lambda self: self._g[5])
        _query = property(lambda self: self._g[6])
        _fragment = property(lambda self: self._g[7])

    def __new__(cls, text: str) -> Uri:
        return parse(text)

    # ------------------------------------------------------------------ constructors
    @staticmethod
    def parse(text: str) -> Uri:
        """Parse a URI-reference (RFC 3986 §4.1); raise :class:`UriError` if invalid."""
        return parse(text)

    @staticmethod
    def parse_origin_form(target: str) -> Uri:
        """Parse an HTTP origin-form request target (``/path?query``), and nothing else.

        RFC 9112's absolute-path allows a target starting with ``//``: it is taken as a
        path here (``raw_host`` is ``None``), although ``Uri.parse`` would read the same
        text as an authority."""
        m = _ORIGIN_MATCH(target)
        if m is None:
            if not target.startswith("/"):
                raise UriError("path", 0, "an origin-form target starts with '/'", target)
            raise _diagnose(target)
        u = _new(Uri)
        u._g = m
        return u

    @staticmethod
    def from_iri(text: str) -> Uri:
        """The URI of an IRI (RFC 3987 §3.1): a non-ASCII host name as its IDNA A-labels
        (UTS #46 ToASCII, as :meth:`with_host` with ``idna=True``), every other non-ASCII
        character as the escapes of its UTF-8 octets; the result is then parsed strictly.

        ``Uri.from_iri("http://例え.jp/引き")`` is ``Uri('http://xn--r8jz45g.jp/%E5%BC%95%E3%81%8D')``.
        Characters that RFC 3987 keeps out of IRIs (bidi formatting characters,
        noncharacters, private use outside the query) raise :class:`UriError`. ``Uri.parse``
        itself stays strict: it never converts.
        """
        return parse(text if text.isascii() else iri_to_uri_text(text))

    @staticmethod
    def from_parts(
        scheme: str | None = None,
        userinfo: str | None = None,
        host: str | None = None,
        port: int | None = None,
        path: str = "",
        query: QueryInput | str | None = None,
        fragment: str | None = None,
        *,
        encoded: bool = False,
    ) -> Uri:
        """Build a URI from components.

        With ``encoded=False`` (the default) each value is encoded for its component
        as the ``with_*`` methods do; with ``encoded=True`` the values are raw text,
        checked against the grammar.
        """
        u = _make(None, None, None, None, "", None, None)
        if scheme is not None:
            u = u.with_scheme(scheme)
        if host is not None:
            u = u.with_host(host, encoded=encoded)
            if userinfo is not None:
                u = u.with_userinfo(userinfo, encoded=encoded)
            if port is not None:
                u = u.with_port(port)
        elif userinfo is not None or port is not None:
            raise UriError("host", -1, "userinfo and port need a host")
        if path:
            u = u.with_path(path, encoded=encoded)
        if query is not None:
            u = u.with_query(query, encoded=encoded)
        if fragment is not None:
            u = u.with_fragment(fragment, encoded=encoded)
        return u

    # ------------------------------------------------------------------ raw accessors
    @property
    def raw_scheme(self) -> str | None:
        return self._scheme

    @property
    def raw_userinfo(self) -> str | None:
        return self._userinfo

    @property
    def raw_host(self) -> str | None:
        """The host as written (an IP-literal keeps its brackets)."""
        return self._host

    @property
    def raw_port(self) -> str | None:
        return self._port

    @property
    def raw_path(self) -> str:
        return self._path

    @property
    def raw_query(self) -> str | None:
        return self._query

    @property
    def raw_fragment(self) -> str | None:
        return self._fragment

    @property
    def raw_authority(self) -> str | None:
        if self._host is None:
            return None
        a = self._host
        if self._userinfo is not None:
            a = self._userinfo + "@" + a
        if self._port is not None:
            a = a + ":" + self._port
        return a

    # ------------------------------------------------------------------ decoded views
    @property
    def scheme(self) -> str | None:
        """The scheme, lowercased (schemes are case-insensitive)."""
        s = self._scheme
        return s if s is None else s.lower()

    @property
    def userinfo(self) -> str | None:
        u = self._userinfo
        return u if u is None else decode_view(u)

    @property
    def user(self) -> str | None:
        """The userinfo up to its first ``:``, fully decoded."""
        u = self._userinfo
        if u is None:
            return None
        return pct_decode(u.partition(":")[0])

    @property
    def password(self) -> str | None:
        """The userinfo after its first ``:``, fully decoded (``None`` if no ``:``)."""
        u = self._userinfo
        if u is None or ":" not in u:
            return None
        return pct_decode(u.partition(":")[2])

    @property
    def host(self) -> str | None:
        """The host, decoded: an IPv6 address without brackets (a zone as ``%zone``),
        an IPvFuture as written (with its brackets), a reg-name with its escapes decoded where that
        cannot change its meaning."""
        h = self._host
        if h is None:
            return None
        if h[:1] == "[":
            inner = h[1:-1]
            addr, sep, zone = inner.partition("%25")
            if inner[:1] in "vV":
                return h  # IPvFuture keeps its brackets: it is not a name nor an address
            return addr + "%" + decode_view(zone) if sep else inner
        return decode_view(h)

    @property
    def hostname(self) -> str | None:
        """The host as urllib's ``hostname``: lowercased, an IP-literal without its brackets
        (and an IPv6 zone as ``%zone``, decoded, its case kept); escapes in a reg-name are
        kept (``host`` decodes them). ``None`` when there is no host."""
        h = self._host
        if h is None:
            return None
        if h[:1] != "[":
            return h.lower() if "%" not in h else normalize_reg_name(h)
        inner = h[1:-1]
        addr, sep, zone = inner.partition("%25")
        return addr.lower() + "%" + decode_view(zone) if sep else inner.lower()

    @property
    def netloc(self) -> str:
        """The authority as written (``userinfo@host:port``), ``""`` when there is none:
        urllib's ``netloc`` (see :attr:`raw_authority` to tell absent from empty)."""
        a = self.raw_authority
        return "" if a is None else a

    @property
    def host_kind(self) -> str | None:
        """``"ipv4"``, ``"ipv6"``, ``"ipvfuture"``, ``"reg-name"`` or ``None`` (no host)."""
        h = self._host
        if h is None:
            return None
        if h[:1] == "[":
            return "ipvfuture" if h[1] in "vV" else "ipv6"
        return "ipv4" if G.IPV4_RE.match(h) else "reg-name"

    @property
    def zone_id(self) -> str | None:
        """The RFC 6874 zone of an IPv6 host, decoded (as :attr:`path`), or ``None``."""
        h = self._host
        if h is None or h[:1] != "[" or "%25" not in h:
            return None
        return decode_view(h[1:-1].partition("%25")[2])

    @property
    def port(self) -> int | None:
        """The port as an int, or ``None`` when absent or empty."""
        p = self._port
        return _port_value(p) if p else None

    @property
    def port_or_default(self) -> int | None:
        """The port, or the scheme's default (http, https, ws, wss, ftp) if none."""
        p = self._port
        if p:
            return _port_value(p)
        s = self._scheme
        return None if s is None else G.DEFAULT_PORTS.get(s.lower())

    @property
    def authority(self) -> str | None:
        a = self.raw_authority
        return a if a is None else decode_view(a)

    @property
    def path(self) -> str:
        """The path, decoded except for escapes of reserved characters and of ``%``:
        ``%2F`` stays ``%2F`` so every ``/`` in the result is a separator."""
        return decode_view(self._path)

    @property
    def path_segments(self) -> tuple[str, ...]:
        """The path split at ``/``, each segment fully decoded (``"/a/b"`` gives
        ``("", "a", "b")``; the empty path gives ``()``)."""
        p = self._path
        if not p:
            return ()
        return tuple([pct_decode(s) for s in p.split("/")])

    @property
    def query(self) -> Query:
        """The query pairs (an empty :class:`Query` when there is no query); ``+`` is a
        literal plus here: see :meth:`query_params` for form decoding."""
        try:
            return self._q
        except AttributeError:
            q = self._q = Query.parse(self._query or "")
            return q

    def query_params(self, *, form: bool = False) -> Query:
        """The query pairs; ``form=True`` decodes ``+`` as a space."""
        if not form:
            return self.query
        return Query.parse(self._query or "", form=True)

    @property
    def query_string(self) -> str | None:
        """The query text, decoded except for reserved characters and ``%``."""
        q = self._query
        return q if q is None else decode_view(q)

    @property
    def fragment(self) -> str | None:
        f = self._fragment
        return f if f is None else decode_view(f)

    @property
    def request_target(self) -> str:
        """The origin-form target for an HTTP request: path (``/`` if empty) and query."""
        p = self._path or "/"
        q = self._query
        return p if q is None else p + "?" + q

    @property
    def is_absolute(self) -> bool:
        """True when the URI has a scheme."""
        return self._scheme is not None

    @property
    def is_relative(self) -> bool:
        return self._scheme is None

    # ------------------------------------------------------------------ builders
    def _replace(self, **changes: str | None) -> Uri:
        parts: dict[str, Any] = {
            "scheme": self._scheme,
            "userinfo": self._userinfo,
            "host": self._host,
            "port": self._port,
            "path": self._path,
            "query": self._query,
            "fragment": self._fragment,
        }
        parts.update(changes)
        return _make(**parts)

    def with_scheme(self, scheme: str | None) -> Uri:
        if scheme is not None and not G.SCHEME_RE.match(scheme):
            raise UriError(
                "scheme", 0, "a scheme is a letter then letters, digits, '+', '-', '.'", scheme
            )
        return self._replace(scheme=scheme)

    def with_userinfo(self, userinfo: str | None, *, encoded: bool = False) -> Uri:
        """Set the userinfo (``None`` removes it). Needs a host."""
        if userinfo is not None:
            if self._host is None:
                raise UriError("userinfo", -1, "a URI without a host has no userinfo")
            userinfo = (
                _check(userinfo, G.USERINFO_RE, "userinfo") if encoded else _enc_userinfo(userinfo)
            )
        return self._replace(userinfo=userinfo)

    def with_user(self, user: str | None, password: str | None = None) -> Uri:
        """Set the userinfo from a user and an optional password, each fully encoded."""
        if user is None:
            return self.with_userinfo(None)
        ui = pct_encode(user, "user")
        if password is not None:
            ui += ":" + pct_encode(password, "password")
        return self.with_userinfo(ui, encoded=True)

    def with_host(self, host: str | None, *, encoded: bool = False, idna: bool = False) -> Uri:
        """Set the host (``None`` removes the whole authority).

        An IPv6 address may be given with or without brackets, and with a zone as
        ``addr%zone``; an IPv4 address or a reg-name as it is. A reg-name is
        percent-encoded (RFC 3986 §3.2.2) unless ``idna=True``, which writes a
        Unicode name as its IDNA A-label (UTS #46 ToASCII with the flags of WHATWG URL
        hosts: see :func:`uri.idna.to_ascii`).
        """
        if host is None:
            return self._replace(userinfo=None, host=None, port=None)
        raw = _host_from_value(host, encoded=encoded, idna=idna)
        return self._replace(host=raw)

    def with_port(self, port: int | None) -> Uri:
        if port is not None:
            if self._host is None:
                raise UriError("port", -1, "a URI without a host has no port")
            if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
                raise UriError("port", -1, f"port must be an int in 0..65535, not {port!r}")
            return self._replace(port=str(port))
        return self._replace(port=None)

    def with_path(self, path: str, *, encoded: bool = False) -> Uri:
        """Set the path. Characters not allowed in a path are percent-encoded; ``/``
        separates segments; a ``%`` that starts a valid escape is kept as that escape
        (so ``u.with_path(u.path)`` keeps ``u``'s meaning). ``encoded=True`` takes the
        path as raw text, checked against the grammar."""
        raw = _check(path, G.PATH_RE, "path") if encoded else _enc_path(path)
        return self._replace(path=raw)

    def with_path_segments(self, segments: Iterable[str]) -> Uri:
        """Set the path from decoded segments (every ``/`` and ``%`` in a segment is
        encoded): the inverse of :attr:`path_segments`."""
        encoded = [_enc_segment(s) for s in segments]
        if encoded and self._scheme is None and self._host is None:
            # a first segment with ":" would read as a scheme: that ":" is data here
            encoded[0] = encoded[0].replace(":", "%3A")
        raw = "/".join(encoded)
        return self._replace(path=raw)

    def with_query(
        self,
        query: QueryInput | str | None,
        *,
        encoded: bool = False,
        form: bool = False,
    ) -> Uri:
        """Set the query: ``None`` removes it; a ``str`` is query text (encoded like
        :meth:`with_path`, or checked if ``encoded``); a mapping, :class:`Query` or
        iterable of pairs is encoded pair by pair (``form=True``: as
        ``application/x-www-form-urlencoded``, space as ``+``). A pair whose value is
        ``None`` is written as its bare key."""
        if query is None:
            raw = None
        elif isinstance(query, str):
            raw = _check(query, G.QUERY_RE, "query") if encoded else _enc_query(query)
        else:
            items = query.items() if isinstance(query, Mapping) else query
            raw = encode_pairs(items, form=form)
        return self._replace(query=raw)

    def with_fragment(self, fragment: str | None, *, encoded: bool = False) -> Uri:
        if fragment is not None:
            fragment = (
                _check(fragment, G.FRAGMENT_RE, "fragment") if encoded else _enc_fragment(fragment)
            )
        return self._replace(fragment=fragment)

    def add_query(self, key: str, value: str | int | None) -> Uri:
        """A new URI with one more ``key=value`` pair at the end of the query (the
        existing query text is kept as it is)."""
        pair = encode_pairs([(key, value)])
        q = self._query
        raw = pair if not q else q + "&" + pair
        return self._replace(query=raw)

    def to_iri(self) -> str:
        """This URI as an IRI for display (RFC 3987 §3.2): the escapes that are the UTF-8
        of a character IRIs allow (not ASCII, not a bidi formatting character) decoded in
        userinfo, path, query and fragment; a host's A-labels as Unicode when UTS #46
        maps them back to the same text. ``Uri.from_iri(u.to_iri()) == u`` when ``u``
        writes its escapes in uppercase hex (RFC 3986 §2.1)."""
        parts = []
        if self._scheme is not None:
            parts.append(self._scheme + ":")
        if self._host is not None:
            parts.append("//")
            if self._userinfo is not None:
                parts.append(decode_for_iri(self._userinfo) + "@")
            parts.append(self._host if self._host[:1] == "[" else host_for_iri(self._host))
            if self._port is not None:
                parts.append(":" + self._port)
        parts.append(decode_for_iri(self._path))
        if self._query is not None:
            parts.append("?" + decode_for_iri(self._query, private_ok=True))
        if self._fragment is not None:
            parts.append("#" + decode_for_iri(self._fragment))
        return "".join(parts)

    # ------------------------------------------------------------------ RFC 3986 §5, §6
    def resolve(self, ref: Uri | str) -> Uri:
        """Resolve ``ref`` against this URI as base (RFC 3986 §5.2)."""
        return resolve(self, ref)

    def relative_to(self, base: Uri | str) -> Uri:
        """The shortest reference that resolves against ``base`` back to this URI."""
        return relative_to(base, self)

    def normalize(self) -> Uri:
        """Syntax-based (§6.2.2) and, for http/https/ws/wss/ftp, scheme-based (§6.2.3)
        normalisation."""
        return normalize(self)

    # ------------------------------------------------------------------ dunder
    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"Uri({self._text!r})"

    def __eq__(self, other: object) -> bool:
        if type(other) is Uri:
            return self._text == other._text
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._text)

    def __reduce__(self) -> tuple[Any, ...]:
        return (parse, (self._text,))

    def __copy__(self) -> Uri:
        return self

    def __deepcopy__(self, memo: object) -> Uri:
        return self

    def as_dict(self) -> dict[str, Any]:
        """Every component, raw and decoded (what ``python -m uri parse`` prints)."""
        return {
            "uri": self._text,
            "scheme": self.scheme,
            "userinfo": self.userinfo,
            "user": self.user,
            "password": self.password,
            "host": self.host,
            "host_kind": self.host_kind,
            "port": self.port,
            "path": self.path,
            "path_segments": list(self.path_segments),
            "query": [list(p) for p in self.query] if self._query is not None else None,
            "fragment": self.fragment,
            "raw": {
                "scheme": self._scheme,
                "userinfo": self._userinfo,
                "host": self._host,
                "port": self._port,
                "path": self._path,
                "query": self._query,
                "fragment": self._fragment,
            },
        }


# ---------------------------------------------------------------------- parsing
def parse(text: str) -> Uri:
    """Parse a URI-reference strictly (RFC 3986 §4.1)."""
    m = _MATCH(text)
    if m is None:
        raise _diagnose(text)
    u = _new(Uri)
    u._g = m
    return u


Uri.parse = staticmethod(parse)  # type: ignore[method-assign]  # one call, not two


def _port_value(port: str) -> int:
    """The value of a string of digits, capped at 65536 (so that no huge int is built)."""
    digits = port.lstrip("0")
    return 65536 if len(digits) > 5 else int(digits or "0")


def _make(
    scheme: str | None,
    userinfo: str | None,
    host: str | None,
    port: str | None,
    path: str,
    query: str | None,
    fragment: str | None,
) -> Uri:
    """A Uri from raw, valid components (RFC 3986 §5.3 recomposition).

    Where the components could not be told apart again from the text, the path is
    adjusted without changing what it resolves to: with an authority a non-empty path
    gets a leading ``/``; without one, a path starting with ``//`` is written ``/.//...``;
    without scheme and authority, a first segment holding ``:`` is written ``./...``.
    """
    parts = []
    if scheme is not None:
        parts.append(scheme)
        parts.append(":")
    if host is not None:
        parts.append("//")
        if userinfo is not None:
            parts.append(userinfo)
            parts.append("@")
        parts.append(host)
        if port is not None:
            parts.append(":")
            parts.append(port)
        if path and path[0] != "/":
            path = "/" + path
    else:
        userinfo = port = None
        if path[:2] == "//":
            path = "/." + path
        elif scheme is None and ":" in path.partition("/")[0]:
            path = "./" + path
    parts.append(path)
    if query is not None:
        parts.append("?")
        parts.append(query)
    if fragment is not None:
        parts.append("#")
        parts.append(fragment)
    u = _new(Uri)
    u._g = ("".join(parts), scheme, userinfo, host, port, path, query, fragment)
    return u


def _check(value: str, pattern: re.Pattern[str], component: str) -> str:
    if pattern.match(value) is None:
        pos = _first_bad(value, component, 0) if component in _RUNS else -1
        reason = _describe(value, pos) if pos >= 0 else "not valid here"
        raise UriError(component, pos, reason, value)
    return value


def _host_from_value(host: str, *, encoded: bool, idna: bool) -> str:
    if host.startswith("["):
        if not G.IP_LITERAL_RE.match(host):
            raise UriError("host", 0, "not a valid IP-literal", host)
        return host
    if ":" in host:  # an IPv6 address, maybe with a zone
        addr, sep, zone = host.partition("%")
        if not G.IPV6_RE.match(addr):
            raise UriError("host", 0, "not a valid IPv6 address", host)
        if sep:
            if encoded:
                # the zone given raw: "%25eth0" written as "addr%25eth0"
                zone = zone[2:] if zone.startswith("25") else zone
                if not G.ZONE_ID_RE.match(zone):
                    raise UriError("host", len(addr), "not a valid zone id", host)
            else:
                if not zone:
                    raise UriError("host", len(addr), "empty zone id", host)
                zone = _enc_zone(zone)
            return "[" + addr + "%25" + zone + "]"
        return "[" + addr + "]"
    if encoded:
        return _check(host, G.REG_NAME_RE, "host")
    if idna:
        return idna_host(host)
    return _enc_host(host)


# ---------------------------------------------------------------------- errors
_CLS = {
    "scheme": G.ALPHA + G.DIGIT + r"+.\-",
    "userinfo": G.USERINFO_CLS,
    "host": G.REG_NAME_CLS,
    "port": G.DIGIT,
    "path": G.PATH_CLS,
    "query": G.QUERY_CLS,
    "fragment": G.FRAGMENT_CLS,
}
_RUNS = {name: re.compile(G.run(cls)) for name, cls in _CLS.items()}
_RUNS["scheme"] = re.compile(r"[A-Za-z0-9+.\-]*")  # no escapes in these two
_RUNS["port"] = re.compile(r"[0-9]*")
_IP_LITERAL_CHARS = re.compile(rf"[{G.UNRESERVED}{G.SUB_DELIMS}:%]*")


def _first_bad(s: str, component: str, offset: int) -> int:
    """Offset (plus ``offset``) of the first character of ``s`` that is neither allowed
    in ``component`` nor part of a valid escape; ``-1`` if there is none."""
    m = _RUNS[component].match(s)
    end = m.end() if m is not None else 0
    return -1 if end == len(s) else offset + end


def _describe(text: str, pos: int) -> str:
    c = text[pos]
    if c == "%":
        return "'%' not followed by two hex digits"
    o = ord(c)
    if o < 0x20 or o == 0x7F:
        return f"control character U+{o:04X} not allowed"
    if c.isspace():
        return f"whitespace U+{o:04X} not allowed"
    if o > 0x7F:
        return f"non-ASCII character {c!r} (U+{o:04X}) not allowed (an IRI: see Uri.from_iri)"
    if c in "[]":
        return f"{c!r} is only allowed around an IP-literal host"
    return f"character {c!r} not allowed here"


def _diagnose(text: str) -> UriError:
    """Find what makes ``text`` invalid, for the error message (slow path only)."""
    if not isinstance(text, str):
        raise TypeError(f"a URI is parsed from str, not {type(text).__name__}")
    m = G.APPENDIX_B.match(text)
    assert m is not None
    scheme, authority, path, query, fragment = m.groups()

    def bad(component: str, s: str, start: int) -> UriError | None:
        pos = _first_bad(s, component, start)
        if pos < 0:
            return None
        return UriError(component, pos, _describe(text, pos), text)

    if scheme is not None:
        c = scheme[0]
        if not (c.isascii() and c.isalpha()):
            if c.isascii() and c.isprintable() and c != " ":
                reason = (
                    "a scheme starts with a letter "
                    "(and a relative path cannot have ':' in its first segment)"
                )
            else:
                reason = _describe(text, 0)
            return UriError("scheme", 0, reason, text)
        e = bad("scheme", scheme, 0)
        if e is not None:
            return e
    if authority is not None:
        a0 = m.start(2)
        ui, at, hostport = authority.partition("@")
        if at:
            e = bad("userinfo", ui, a0)
            if e is not None:
                return e
            h0 = a0 + len(ui) + 1
        else:
            hostport = authority
            h0 = a0
        if hostport.startswith("["):
            close = hostport.find("]")
            if close < 0:
                return UriError("host", h0, "'[' without a closing ']'", text)
            lit = hostport[: close + 1]
            if not G.IP_LITERAL_RE.match(lit):
                inner = lit[1:-1]
                stray = _IP_LITERAL_CHARS.match(inner).end()  # type: ignore[union-attr]
                if stray < len(inner):
                    return UriError("host", h0 + 1 + stray, _describe(text, h0 + 1 + stray), text)
                if G.IPV4_RE.match(inner):
                    reason = "an IPv4 address is not written in brackets"
                elif "%" in inner and not inner.partition("%")[2].startswith("25"):
                    reason = "a zone id is introduced by '%25' (RFC 6874)"
                else:
                    reason = "not a valid IPv6 address or IPvFuture"
                return UriError("host", h0, reason, text)
            rest = hostport[close + 1 :]
            p0 = h0 + close + 1
            if rest and rest[0] != ":":
                return UriError("host", p0, "only ':port' may follow an IP-literal", text)
            port = rest[1:] if rest else None
            p0 += 1
        else:
            host, colon, port_s = hostport.partition(":")
            e = bad("host", host, h0)
            if e is not None:
                if text[e.position] == "@":
                    e = UriError("host", e.position, "a second '@' in the authority", text)
                return e
            port = port_s if colon else None
            p0 = h0 + len(host) + 1
        if port:
            e = bad("port", port, p0)
            if e is not None:
                return e
            if _port_value(port) > 65535:
                return UriError("port", p0, "port is over 65535", text)
    e = bad("path", path, m.start(3))
    if e is not None:
        return e
    if scheme is None and authority is None and ":" in path.partition("/")[0]:
        return UriError(
            "path", path.index(":"), "a relative path cannot have ':' in its first segment", text
        )
    if authority is None and path.startswith("//"):  # pragma: no cover - Appendix B takes it
        return UriError(
            "path", m.start(3), "a path cannot start with '//' without an authority", text
        )
    if query is not None:
        e = bad("query", query, m.start(4))
        if e is not None:
            return e
    if fragment is not None:
        e = bad("fragment", fragment, m.start(5))
        if e is not None:
            return e
    return UriError("uri", -1, "does not match the RFC 3986 grammar", text)


# ---------------------------------------------------------------------- resolution
def _as_uri(u: Uri | str) -> Uri:
    return u if isinstance(u, Uri) else parse(u)


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, in linear time. Only the literal segments ``.`` and ``..`` are
    dot segments (``.%2E`` is not)."""
    if "." not in path:
        return path
    out: list[str] = []
    i = 0
    n = len(path)
    while i < n:
        if path.startswith("../", i):  # A
            i += 3
        elif path.startswith("./", i) or path.startswith("/./", i):  # A
            i += 2
        elif path.startswith("/.", i) and i + 2 == n:  # B: "/." at the end -> "/"
            n = i + 1
        elif path.startswith("/../", i):  # C
            i += 3
            if out:
                out.pop()
        elif path.startswith("/..", i) and i + 3 == n:  # C: "/.." at the end -> "/"
            n = i + 1
            if out:
                out.pop()
        elif (i + 1 == n and path[i] == ".") or (i + 2 == n and path.startswith("..", i)):  # D
            i = n
        else:  # E
            j = path.find("/", i + 1)
            if j < 0 or j > n:
                j = n
            out.append(path[i:j])
            i = j
    return "".join(out)


def _merge(base: Uri, ref_path: str) -> str:
    if base._host is not None and base._path == "":
        return "/" + ref_path
    bp = base._path
    return bp[: bp.rfind("/") + 1] + ref_path


def resolve(base: Uri | str, ref: Uri | str) -> Uri:
    """Resolve ``ref`` against ``base`` exactly per RFC 3986 §5.2.2 (strict: a scheme in
    ``ref`` is never ignored). ``base`` should be absolute; a base without a scheme is
    accepted (the result then has none either)."""
    b = _as_uri(base)
    r = _as_uri(ref)
    if r._scheme is not None:
        return _make(
            r._scheme,
            r._userinfo,
            r._host,
            r._port,
            remove_dot_segments(r._path),
            r._query,
            r._fragment,
        )
    if r._host is not None:
        return _make(
            b._scheme,
            r._userinfo,
            r._host,
            r._port,
            remove_dot_segments(r._path),
            r._query,
            r._fragment,
        )
    if r._path == "":
        q = r._query if r._query is not None else b._query
        return _make(b._scheme, b._userinfo, b._host, b._port, b._path, q, r._fragment)
    if r._path[0] == "/":
        path = remove_dot_segments(r._path)
    else:
        path = remove_dot_segments(_merge(b, r._path))
    return _make(b._scheme, b._userinfo, b._host, b._port, path, r._query, r._fragment)


def _tail(query: str | None, fragment: str | None) -> str:
    s = ""
    if query is not None:
        s = "?" + query
    if fragment is not None:
        s += "#" + fragment
    return s


def _relative_path(base: Uri, target_path: str) -> str | None:
    """A relative-path reference from ``base``'s directory to ``target_path``."""
    bdir = _merge(base, "")
    if not bdir.startswith("/") or not target_path.startswith("/"):
        return None
    bsegs = bdir.split("/")[:-1]  # directory segments ("" first)
    tsegs = target_path.split("/")
    k = 0
    while k < len(bsegs) and k < len(tsegs) - 1 and bsegs[k] == tsegs[k]:
        k += 1
    rel = "../" * (len(bsegs) - k) + "/".join(tsegs[k:])
    first = rel.partition("/")[0]
    if rel == "":
        rel = "."
    elif rel.startswith("/") or ":" in first:
        rel = "./" + rel
    elif rel.endswith("/..") or rel == "..":
        rel += "/"
    return rel


def relative_to(base: Uri | str, target: Uri | str) -> Uri:
    """The shortest reference ``r`` with ``resolve(base, r) == target``.

    ``target`` is returned whole when nothing shorter resolves back to it (another
    scheme, or a path with dot segments that resolution would remove).
    """
    b = _as_uri(base)
    t = _as_uri(target)
    if t._scheme != b._scheme:
        return t
    cands: list[str] = []
    same_auth = t._host == b._host and t._userinfo == b._userinfo and t._port == b._port
    if t._host is not None and not t._path.startswith("//"):
        cands.append("//" + (t.raw_authority or "") + t._path + _tail(t._query, t._fragment))
    if same_auth:
        tail = _tail(t._query, t._fragment)
        if t._path == b._path:
            if t._query == b._query:
                cands.append(_tail(None, t._fragment))
            elif t._query is not None:
                cands.append(tail)
        rel = _relative_path(b, t._path)
        if rel is not None:
            cands.append(rel + tail)
        if t._path.startswith("/") and not t._path.startswith("//"):
            cands.append(t._path + tail)
        # the last segment alone (enough when only the query goes away)
        last = t._path.rpartition("/")[2]
        if last and last not in (".", "..") and ":" not in last:
            cands.append(last + tail)
    cands.sort(key=len)
    for c in cands:
        try:
            r = parse(c)
        except UriError:
            continue
        if resolve(b, r)._text == t._text:
            return r
    return t


# ---------------------------------------------------------------------- normalisation
def _normalize_host(h: str) -> str:
    if h[:1] != "[":
        return normalize_reg_name(h)
    inner = h[1:-1]
    addr, sep, zone = inner.partition("%25")
    if sep:
        return "[" + addr.lower() + "%25" + normalize_escapes(zone) + "]"
    return "[" + inner.lower() + "]"


def normalize(u: Uri | str) -> Uri:
    """RFC 3986 §6.2.2 and §6.2.3; idempotent.

    Scheme and host lowercased; escapes with uppercase hex, those of unreserved
    characters decoded; dot segments removed (in an absolute path, or when there is a
    scheme or an authority: a relative-path reference keeps them); an empty port and
    leading zeros of a port dropped; for http, https, ws, wss and ftp the default port
    is dropped and an empty path with an authority becomes ``/``.
    """
    u = _as_uri(u)
    scheme = u._scheme.lower() if u._scheme is not None else None
    host = u._host
    userinfo = port = None
    path = normalize_escapes(u._path)
    if host is not None:
        host = _normalize_host(host)
        userinfo = None if u._userinfo is None else normalize_escapes(u._userinfo)
        port = str(_port_value(u._port)) if u._port else None
        default = G.DEFAULT_PORTS.get(scheme) if scheme is not None else None
        if default is not None:
            if port is not None and int(port) == default:
                port = None
            if path == "":
                path = "/"
    if scheme is not None or host is not None or path.startswith("/"):
        path = remove_dot_segments(path)
    query = None if u._query is None else normalize_escapes(u._query)
    fragment = None if u._fragment is None else normalize_escapes(u._fragment)
    return _make(scheme, userinfo, host, port, path, query, fragment)
