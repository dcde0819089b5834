"""DNS for mirage-py: the wire codec, zones, an authoritative server and a stub resolver.

Written once over the IO interface (:mod:`backends`), like ocaml-dns over Mirage's.

* :mod:`dns.wire` — the strict wire-format codec (names, messages, builder, EDNS);
* :mod:`dns.zone` — RFC 1035 master files, validated zones;
* :mod:`dns.server` — the authoritative server (UDP and TCP, AXFR/IXFR, NOTIFY);
* ``python -m dns serve|check|query`` — the command line.
"""

from __future__ import annotations

from . import wire
from .wire import Message, MessageBuilder, Name, Question, WireError

__all__ = ["Message", "MessageBuilder", "Name", "Question", "WireError", "wire"]
