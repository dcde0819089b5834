"""TCP (RFC 9293), sans-IO, in parts as smoltcp and mirage-tcpip split it:

* :mod:`.seq`: sequence-number arithmetic (RFC 9293 3.4, RFC 1982);
* :mod:`.options`: MSS, window scale, SACK-permitted, SACK, timestamps;
* :mod:`.wire`: the header, checksummed over a :class:`~.family.Family`'s pseudo-header;
* :mod:`.family`: the address family as a value (IPv4, IPv6: one :class:`Tcp` each);
* :mod:`.reassembly`: out-of-order text, bounded;
* :mod:`.sendbuf`: the send buffer and the SACK scoreboard (RFC 2018, RFC 6675);
* :mod:`.rtt`: the RTT estimator (RFC 6298);
* :mod:`.congestion`: NewReno (RFC 5681, RFC 6582) and CUBIC (RFC 9438) behind one
  interface;
* :mod:`.timers`: a connection's timers and their delays;
* :mod:`.stats`: what loss recovery did and where the sending time went;
* :mod:`.connection`: the state machine that composes them;
* :mod:`.layer`: listeners, demultiplexing, ISNs (RFC 6528), ephemeral ports (RFC 6056).

The names below are the package's public interface.
"""

from __future__ import annotations

from .config import DEFAULT_MSS, EPHEMERAL_HIGH, EPHEMERAL_LOW, State, TcpConfig
from .congestion import CongestionControl, Cubic, NewReno
from .connection import Connection
from .family import IPV4, IPV6, Family
from .layer import Key, Listener, Tcp
from .options import parse_options, parse_sack, parse_timestamp, sack_option, syn_options
from .seq import HALF, MASK, unwrap
from .stats import LossStats
from .wire import ACK, FIN, HEADER_LEN, PSH, RST, SYN, Segment, parse, segment

__all__ = [
    "ACK",
    "DEFAULT_MSS",
    "EPHEMERAL_HIGH",
    "EPHEMERAL_LOW",
    "FIN",
    "HALF",
    "HEADER_LEN",
    "IPV4",
    "IPV6",
    "MASK",
    "PSH",
    "RST",
    "SYN",
    "CongestionControl",
    "Connection",
    "Cubic",
    "Family",
    "Key",
    "Listener",
    "LossStats",
    "NewReno",
    "Segment",
    "State",
    "Tcp",
    "TcpConfig",
    "parse",
    "parse_options",
    "parse_sack",
    "parse_timestamp",
    "sack_option",
    "segment",
    "syn_options",
    "unwrap",
]
