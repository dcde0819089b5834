"""HTTP/2 (RFC 9113) for cohttp: the server side.

* :mod:`cohttp.h2.hpack`: HPACK header compression (RFC 7541), both directions;
* :mod:`cohttp.h2.frames`: frame types, flags, error codes and the frame encoders;
* :mod:`cohttp.h2.connection`: the sans-IO server connection (bytes in, events out);
* :mod:`cohttp.h2.server`: :func:`serve_h2`, which drives it over a
  :class:`backends.Flow` with the handler API of :class:`cohttp.Server`.

A TLS listener chooses HTTP/2 by ALPN (``h2``, RFC 9113 3.2); over cleartext, a client
with prior knowledge starts with the preface (RFC 9113 3.3). The Upgrade from HTTP/1.1
(``h2c``) was deprecated by RFC 9113 and is not offered.
"""

from __future__ import annotations

from .connection import H2Config, H2Connection
from .server import H2ResponseStream, serve_h2

__all__ = ["H2Config", "H2Connection", "H2ResponseStream", "serve_h2"]
