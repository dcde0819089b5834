"""RFC 3986 URIs, strict and fast: a pure package (no IO).

>>> from uri import Uri
>>> u = Uri("http://user@example.com:8080/a%20b/c?x=1&y=2#top")
>>> u.host, u.port, u.path, u.query.get("y")
('example.com', 8080, '/a b/c', '2')
>>> str(u.with_path("/d e"))
'http://user@example.com:8080/d%20e?x=1&y=2#top'
"""

from . import idna
from ._errors import UriError
from ._pct import pct_decode, pct_decode_bytes, pct_encode
from ._query import Query, encode_pairs
from ._uri import Uri, normalize, parse, relative_to, remove_dot_segments, resolve

__all__ = [
    "Query",
    "Uri",
    "UriError",
    "encode_pairs",
    "idna",
    "normalize",
    "parse",
    "pct_decode",
    "pct_decode_bytes",
    "pct_encode",
    "relative_to",
    "remove_dot_segments",
    "resolve",
]
