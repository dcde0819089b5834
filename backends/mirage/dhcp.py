"""A DHCPv4 client (RFC 2131; options RFC 2132), sans-IO on the stack's scheduler.

The codec (:func:`build`, :func:`parse`) is pure; :class:`DhcpClient` is the client state
machine of RFC 2131 4.4 (figure 5) over a :class:`~backends.mirage.stack.Stack`:

* INIT -> SELECTING: DHCPDISCOVER, broadcast, retransmitted after 4, 8, 16, 32, 64, 64...
  seconds, each randomised by +-1 s (RFC 2131 4.1);
* SELECTING -> REQUESTING on the first acceptable DHCPOFFER (our xid and hardware
  address, a non-zero ``yiaddr`` and a server identifier): DHCPREQUEST naming that server
  and address (RFC 2131 4.3.2), retransmitted the same way a bounded number of times;
* REQUESTING -> CHECKING on DHCPACK (the ARP check below), then BOUND: the stack takes
  the address, mask, router; T1 and T2 (options 58 and 59, defaults 0.5 and 0.875 of the
  lease, RFC 2131 4.4.5), counted from when the request was sent (4.4.1), are armed;
  DHCPNAK, or no answer, starts over from INIT;
* BOUND -> RENEWING at T1: DHCPREQUEST unicast to the server that granted the lease, with
  ``ciaddr`` set and no server identifier; RENEWING -> REBINDING at T2: the same, broadcast
  to any server; retransmitted after half the time left to T2 (to the lease's end), but
  not more often than ``min_retransmit`` (60 s in RFC 2131 4.4.5). DHCPACK extends the
  lease; DHCPNAK or the lease's end drops the address and starts over;
* :meth:`DhcpClient.release` sends DHCPRELEASE to the server and drops the address
  (RFC 2131 4.4.6).

Replies are matched on ``xid`` and ``chaddr`` (RFC 2131 4.4.1); anything else, and every
malformed message, is counted and dropped. The client sets the BROADCAST flag while it
has no address (RFC 2131 4.1: it cannot receive unicast IP before it is configured).
Before it takes an acknowledged address the client probes for it with ARP (RFC 2131
4.4.1; probes as RFC 5227 2.1.1 makes them) and waits ``arp_check`` seconds: an ARP packet
from another host that claims the address, or probes for it too, makes the client send
DHCPDECLINE and start over after ten seconds (RFC 2131 3.1 step 5). Not done: INIT-REBOOT,
DHCPINFORM, relay agents' options.
"""

from __future__ import annotations

import enum
import os
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import ipv4
from .errors import PacketError
from .sched import log

if TYPE_CHECKING:
    from .stack import Stack, UdpSocket

SERVER_PORT = 67
CLIENT_PORT = 68
BROADCAST = 0xFFFFFFFF

BOOTREQUEST = 1
BOOTREPLY = 2
HTYPE_ETHERNET = 1  # RFC 1700 "hardware types"
FLAG_BROADCAST = 0x8000  # RFC 2131 2, figure 2
MAGIC_COOKIE = b"\x63\x82\x53\x63"  # RFC 2131 3: 99.130.83.99
FIXED_LEN = 236  # op .. file (RFC 2131 2, figure 1)
HEADER_LEN = FIXED_LEN + len(MAGIC_COOKIE)
MIN_MESSAGE = 300  # BOOTP's minimum (RFC 1542 2.1), which relays may insist on
MAX_MESSAGE = 4096
"""Longer replies are refused: RFC 2131 2 guarantees 576-byte messages; option 57 may
raise that, and nothing sane needs more than this."""

# Option codes (RFC 2132)
PAD = 0
SUBNET_MASK = 1
ROUTER = 3
DNS_SERVERS = 6
HOST_NAME = 12
DOMAIN_NAME = 15
REQUESTED_IP = 50
LEASE_TIME = 51
OVERLOAD = 52
MESSAGE_TYPE = 53
SERVER_ID = 54
PARAMETER_LIST = 55
ERROR_MESSAGE = 56
MAX_MESSAGE_SIZE = 57
RENEWAL_TIME = 58  # T1
REBINDING_TIME = 59  # T2
CLIENT_ID = 61
END = 255

# Message types (RFC 2132 9.6)
DISCOVER = 1
OFFER = 2
REQUEST = 3
DECLINE = 4
ACK = 5
NAK = 6
RELEASE = 7
INFORM = 8
TYPE_NAMES = {
    DISCOVER: "DHCPDISCOVER",
    OFFER: "DHCPOFFER",
    REQUEST: "DHCPREQUEST",
    DECLINE: "DHCPDECLINE",
    ACK: "DHCPACK",
    NAK: "DHCPNAK",
    RELEASE: "DHCPRELEASE",
    INFORM: "DHCPINFORM",
}
INFINITE = 0xFFFFFFFF  # RFC 2131 3.3: a lease time of all ones never expires

_FIXED = struct.Struct("!BBBBIHHIIII16s64s128s")


class DhcpError(PacketError):
    """A DHCP message is malformed; the message says which field and why."""


@dataclass
class Message:
    """One DHCP message (RFC 2131 2, figure 1). ``options`` maps a code to its value, the
    pieces of a repeated option already joined (RFC 3396)."""

    op: int
    xid: int
    chaddr: bytes
    options: dict[int, bytes] = field(default_factory=dict)
    secs: int = 0
    flags: int = 0
    ciaddr: int = 0
    yiaddr: int = 0
    siaddr: int = 0
    giaddr: int = 0
    htype: int = HTYPE_ETHERNET
    hops: int = 0
    sname: bytes = b""
    file: bytes = b""

    @property
    def kind(self) -> int | None:
        """The DHCP message type (option 53), or None for plain BOOTP."""
        value = self.options.get(MESSAGE_TYPE)
        if value is None:
            return None
        if len(value) != 1 or not DISCOVER <= value[0] <= INFORM:
            raise DhcpError(f"dhcp: message type option {value.hex()} is not one of 1..8")
        return value[0]

    def address(self, code: int) -> int | None:
        """An option holding one IPv4 address (server identifier, mask...), or None."""
        value = self.options.get(code)
        if value is None:
            return None
        if len(value) != 4:
            raise DhcpError(f"dhcp: option {code} holds {len(value)} bytes, not one address")
        return int.from_bytes(value, "big")

    def addresses(self, code: int) -> list[int]:
        """An option holding a list of IPv4 addresses (routers, DNS servers)."""
        value = self.options.get(code, b"")
        if len(value) % 4:
            raise DhcpError(f"dhcp: option {code} holds {len(value)} bytes, not addresses")
        return [int.from_bytes(value[i : i + 4], "big") for i in range(0, len(value), 4)]

    def seconds(self, code: int) -> int | None:
        """An option holding a 32-bit count of seconds (lease time, T1, T2), or None."""
        value = self.options.get(code)
        if value is None:
            return None
        if len(value) != 4:
            raise DhcpError(f"dhcp: option {code} holds {len(value)} bytes, not 32 bits")
        return int.from_bytes(value, "big")


def build(msg: Message) -> bytes:
    """The wire form of ``msg``: options after the magic cookie, each split into pieces of
    255 bytes (RFC 3396), then END, padded to BOOTP's 300 bytes."""
    if len(msg.chaddr) > 16 or len(msg.sname) > 64 or len(msg.file) > 128:
        raise ValueError("dhcp: chaddr, sname or file longer than its field")
    fixed = _FIXED.pack(
        msg.op,
        msg.htype,
        len(msg.chaddr),
        msg.hops,
        msg.xid,
        msg.secs,
        msg.flags,
        msg.ciaddr,
        msg.yiaddr,
        msg.siaddr,
        msg.giaddr,
        msg.chaddr,
        msg.sname,
        msg.file,
    )
    out = bytearray(fixed + MAGIC_COOKIE)
    for code, value in msg.options.items():
        if not 0 < code < END:
            raise ValueError(f"dhcp: option code {code} is reserved")
        for start in range(0, max(len(value), 1), 255):
            piece = value[start : start + 255]
            out += bytes((code, len(piece))) + piece
    out.append(END)
    if len(out) < MIN_MESSAGE:
        out += bytes(MIN_MESSAGE - len(out))
    return bytes(out)


def _options(area: memoryview, where: str, into: dict[int, bytes]) -> None:
    """Read options from ``area`` into ``into`` (repeated codes joined, RFC 3396) up to END.
    The area is bounded by the message, so is what it can hold."""
    i = 0
    end = len(area)
    while i < end:
        code = area[i]
        if code == PAD:
            i += 1
            continue
        if code == END:
            return
        if i + 1 >= end:
            raise DhcpError(f"dhcp: option {code} in {where} is cut off before its length")
        length = area[i + 1]
        if i + 2 + length > end:
            raise DhcpError(
                f"dhcp: option {code} in {where} claims {length} bytes, {end - i - 2} are left"
            )
        value = bytes(area[i + 2 : i + 2 + length])
        into[code] = into[code] + value if code in into else value
        i += 2 + length
    raise DhcpError(f"dhcp: {where} end without the END option (RFC 2132 3.2)")


def parse(data: bytes | memoryview) -> Message:
    """A DHCP message from its wire form; :class:`DhcpError` names what is wrong."""
    view = memoryview(data)
    if len(view) < HEADER_LEN:
        raise DhcpError(
            f"dhcp: message of {len(view)} bytes is shorter than the {HEADER_LEN} of the "
            "fixed fields and magic cookie"
        )
    if len(view) > MAX_MESSAGE:
        raise DhcpError(f"dhcp: message of {len(view)} bytes is longer than {MAX_MESSAGE}")
    (
        op,
        htype,
        hlen,
        hops,
        xid,
        secs,
        flags,
        ciaddr,
        yiaddr,
        siaddr,
        giaddr,
        chaddr,
        sname,
        file,
    ) = _FIXED.unpack_from(view)
    if op not in (BOOTREQUEST, BOOTREPLY):
        raise DhcpError(f"dhcp: op {op} is neither BOOTREQUEST (1) nor BOOTREPLY (2)")
    if hlen > 16:
        raise DhcpError(f"dhcp: hardware address length {hlen} exceeds the 16-byte chaddr")
    if bytes(view[FIXED_LEN:HEADER_LEN]) != MAGIC_COOKIE:
        raise DhcpError("dhcp: no magic cookie 99.130.83.99 after the fixed fields (RFC 2131 3)")
    options: dict[int, bytes] = {}
    _options(view[HEADER_LEN:], "the options field", options)
    overload = options.get(OVERLOAD)
    if overload is not None:  # RFC 2132 9.3: options continue in file, then sname
        if len(overload) != 1 or overload[0] not in (1, 2, 3):
            raise DhcpError(f"dhcp: option overload value {overload.hex()} is not 1, 2 or 3")
        if overload[0] & 1:
            _options(memoryview(file), "the file field", options)
            file = b""
        if overload[0] & 2:
            _options(memoryview(sname), "the sname field", options)
            sname = b""
    return Message(
        op=op,
        xid=xid,
        chaddr=chaddr[:hlen],
        options=options,
        secs=secs,
        flags=flags,
        ciaddr=ciaddr,
        yiaddr=yiaddr,
        siaddr=siaddr,
        giaddr=giaddr,
        htype=htype,
        hops=hops,
        sname=sname.rstrip(b"\0"),
        file=file.rstrip(b"\0"),
    )


def prefix_of(mask: int) -> int:
    """The prefix length of a contiguous netmask; :class:`DhcpError` for any other."""
    prefix = 32 - ((~mask & 0xFFFFFFFF).bit_length())
    if ipv4.netmask(prefix) != mask:
        raise DhcpError(f"dhcp: subnet mask {ipv4.int_to_ip(mask)} is not contiguous")
    return prefix


def classful_prefix(address: int) -> int:
    """The class A/B/C prefix, for a lease without a subnet mask (RFC 1122 3.3.1.1)."""
    top = address >> 24
    return 8 if top < 128 else 16 if top < 192 else 24


class State(enum.Enum):
    """The client's states (RFC 2131 4.4, figure 5)."""

    INIT = "INIT"
    SELECTING = "SELECTING"
    REQUESTING = "REQUESTING"
    CHECKING = "CHECKING"
    """Acknowledged; probing the address with ARP before taking it (RFC 2131 4.4.1)."""
    BOUND = "BOUND"
    RENEWING = "RENEWING"
    REBINDING = "REBINDING"
    RELEASED = "RELEASED"


@dataclass
class DhcpConfig:
    """Timing and identity of a :class:`DhcpClient` (RFC 2131's values by default)."""

    initial_timeout: float = 4.0
    """First retransmission delay in SELECTING and REQUESTING, doubled each time."""
    max_timeout: float = 64.0
    jitter: float = 1.0
    """Each delay is randomised by up to this many seconds either way (RFC 2131 4.1)."""
    request_attempts: int = 4
    """DHCPREQUESTs sent in REQUESTING before starting over from INIT."""
    min_retransmit: float = 60.0
    """Shortest wait between DHCPREQUESTs in RENEWING and REBINDING (RFC 2131 4.4.5)."""
    restart_delay: float = 1.0
    """Wait after a DHCPNAK before discovering again (RFC 2131 3.1 step 5 does not say;
    a pause keeps a misconfigured server from being flooded)."""
    arp_check: float = 1.0
    """How long to listen for another holder of an acknowledged address after probing
    for it with ARP (RFC 2131 4.4.1 SHOULD); 0 takes the address without checking."""
    decline_delay: float = 10.0
    """Wait after a DHCPDECLINE before discovering again (RFC 2131 3.1 step 5)."""
    hostname: str | None = None


@dataclass
class Lease:
    """What a DHCPACK granted, with absolute deadlines on the scheduler's clock."""

    address: int
    prefix: int
    server: int
    routers: list[int]
    dns: list[int]
    domain: str | None
    lease_time: int
    obtained: float
    t1: float
    t2: float
    expires: float

    @property
    def gateway(self) -> int | None:
        """The first router, or None."""
        return self.routers[0] if self.routers else None


class DhcpClient:
    """The RFC 2131 client state machine over ``stack`` (see the module docstring).

    Call :meth:`start` inside the scheduler; ``on_change()`` is called whenever a lease is
    obtained, renewed or lost. ``counters`` say what was sent, received and dropped.
    """

    def __init__(
        self,
        stack: Stack,
        config: DhcpConfig | None = None,
        *,
        on_change: Callable[[], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if stack.arp is None:
            raise ValueError("DHCP needs a link interface (the stack has none)")
        self.stack = stack
        self.sched = stack.sched
        self.config = config or DhcpConfig()
        self.on_change = on_change
        self.mac = stack.arp.mac
        self._rng = rng or random.Random(os.urandom(8))
        self.state = State.INIT
        self.lease: Lease | None = None
        self.xid = 0
        self._offer: Message | None = None
        self._acked: Message | None = None
        self._conflict = False
        self._requested_at = 0.0
        self._attempt = 0
        self._started = 0.0
        self._timer = self.sched.timer(self._on_timer)
        self._sock: UdpSocket | None = None
        self.counters = {
            "sent": 0,
            "discovers": 0,
            "requests": 0,
            "offers": 0,
            "acks": 0,
            "naks": 0,
            "declines": 0,
            "renewals": 0,
            "rebinds": 0,
            "expired": 0,
            "releases": 0,
            "ignored": 0,
            "malformed": 0,
        }

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Bind UDP port 68 and begin discovering (RFC 2131 4.4.1)."""
        if self._sock is not None:
            raise RuntimeError("this DHCP client is already started")
        self._sock = self.stack.udp_bind(0, CLIENT_PORT)
        self._sock.on_readable = self._on_readable
        self._discover()

    def renew(self) -> None:
        """Renew the lease now, as at T1 (RENEWING: a unicast DHCPREQUEST to the server
        that granted it), as ``networkctl renew`` does; a no-op without a lease."""
        if self.lease is not None and self.state == State.BOUND:
            self._extend(State.RENEWING)

    def release(self) -> None:
        """Give the lease back (DHCPRELEASE, RFC 2131 4.4.6), drop the address, stop."""
        self._timer.stop()
        if self.stack.arp is not None:
            self.stack.arp.watch = None
        lease = self.lease
        if lease is not None and self.state in (State.BOUND, State.RENEWING, State.REBINDING):
            self.xid = self._new_xid()
            options = {MESSAGE_TYPE: bytes((RELEASE,)), SERVER_ID: _ip(lease.server)}
            self._send(options, lease.server, ciaddr=lease.address)
            self.counters["releases"] += 1
            self._unconfigure()
        self.state = State.RELEASED
        if self._sock is not None:
            self._sock.close()

    # -- sending --------------------------------------------------------------------------

    def _new_xid(self) -> int:
        return int.from_bytes(os.urandom(4), "big")

    def _base_options(self, kind: int) -> dict[int, bytes]:
        options = {
            MESSAGE_TYPE: bytes((kind,)),
            CLIENT_ID: bytes((HTYPE_ETHERNET,)) + self.mac,  # RFC 2132 9.14
            PARAMETER_LIST: bytes(
                (
                    SUBNET_MASK,
                    ROUTER,
                    DNS_SERVERS,
                    DOMAIN_NAME,
                    LEASE_TIME,
                    RENEWAL_TIME,
                    REBINDING_TIME,
                )
            ),
            MAX_MESSAGE_SIZE: min(self.stack.mtu - 28, MAX_MESSAGE).to_bytes(2, "big"),
        }
        if self.config.hostname:
            options[HOST_NAME] = self.config.hostname.encode("ascii")
        return options

    def _send(self, options: dict[int, bytes], dst: int, *, ciaddr: int = 0) -> None:
        assert self._sock is not None
        secs = min(int(self.sched.now() - self._started), 0xFFFF)
        msg = Message(
            op=BOOTREQUEST,
            xid=self.xid,
            chaddr=self.mac,
            options=options,
            secs=secs,
            flags=0 if ciaddr else FLAG_BROADCAST,
            ciaddr=ciaddr,
        )
        self.counters["sent"] += 1
        self._sock.send(build(msg), dst, SERVER_PORT)

    def _backoff(self) -> float:
        """4, 8, 16, ... up to 64 seconds, +-jitter (RFC 2131 4.1)."""
        cfg = self.config
        delay = min(cfg.initial_timeout * (2 ** min(self._attempt, 16)), cfg.max_timeout)
        return max(0.0, float(delay) + self._rng.uniform(-cfg.jitter, cfg.jitter))

    def _discover(self) -> None:
        self.state = State.SELECTING
        self.xid = self._new_xid()
        self._offer = None
        self._attempt = 0
        self._started = self.sched.now()
        self._send_discover()

    def _send_discover(self) -> None:
        self.counters["discovers"] += 1
        self._send(self._base_options(DISCOVER), BROADCAST)
        self._timer.start_in(self._backoff())
        self._attempt += 1

    def _send_selecting_request(self) -> None:
        offer = self._offer
        assert offer is not None
        options = self._base_options(REQUEST)
        options[REQUESTED_IP] = _ip(offer.yiaddr)  # RFC 2131 4.3.2: SELECTING state
        options[SERVER_ID] = offer.options[SERVER_ID]
        self.counters["requests"] += 1
        self._requested_at = self.sched.now()
        self._send(options, BROADCAST)
        self._timer.start_in(self._backoff())
        self._attempt += 1

    def _send_lease_request(self) -> None:
        """RENEWING (unicast to the server) or REBINDING (broadcast): ``ciaddr`` set, no
        requested address or server identifier (RFC 2131 4.3.2, table 4)."""
        lease = self.lease
        assert lease is not None
        dst = lease.server if self.state == State.RENEWING else BROADCAST
        self.counters["requests"] += 1
        self._requested_at = self.sched.now()
        self._send(self._base_options(REQUEST), dst, ciaddr=lease.address)
        now = self.sched.now()
        until = lease.t2 if self.state == State.RENEWING else lease.expires
        wait = max((until - now) / 2, self.config.min_retransmit)  # RFC 2131 4.4.5
        self._timer.start(min(now + wait, until))

    # -- timers ---------------------------------------------------------------------------

    def _on_timer(self) -> None:
        state = self.state
        now = self.sched.now()
        if state == State.SELECTING:
            self._send_discover()
        elif state == State.REQUESTING:
            if self._attempt >= self.config.request_attempts:
                log.info("dhcp: no DHCPACK after %d DHCPREQUESTs; starting over", self._attempt)
                self._discover()
            else:
                self._send_selecting_request()
        elif state == State.INIT:
            self._discover()
        elif state == State.CHECKING:
            self._checked()
        elif self.lease is not None:
            lease = self.lease
            if now >= lease.expires:
                self._expire()
            elif now >= lease.t2 and state != State.REBINDING:
                self._extend(State.REBINDING)
            elif now >= lease.t1 and state == State.BOUND:
                self._extend(State.RENEWING)
            elif state in (State.RENEWING, State.REBINDING):
                self._send_lease_request()
            else:
                self._arm_lease_timer()

    def _extend(self, state: State) -> None:
        """Enter RENEWING or REBINDING: a new transaction; ``secs`` counts from the start
        of the renewal process (RFC 2131 2: "began address acquisition or renewal")."""
        if self.state == State.BOUND:
            self._started = self.sched.now()
        self.state = state
        self.xid = self._new_xid()
        self.counters["renewals" if state == State.RENEWING else "rebinds"] += 1
        self._send_lease_request()

    def _arm_lease_timer(self) -> None:
        lease = self.lease
        assert lease is not None
        if lease.lease_time == INFINITE:
            self._timer.stop()
        else:
            self._timer.start(lease.t1)

    def _expire(self) -> None:
        log.warning("dhcp: the lease of %s expired", ipv4.int_to_ip(self.stack.ip))
        self.counters["expired"] += 1
        self._unconfigure()
        self._discover()

    # -- receiving ------------------------------------------------------------------------

    def _on_readable(self) -> None:
        sock = self._sock
        assert sock is not None
        while sock.queue:
            data, (_src, sport) = sock.queue.popleft()
            if sport != SERVER_PORT:
                self.counters["ignored"] += 1
                continue
            try:
                msg = parse(data)
                self._input(msg)
            except DhcpError as exc:
                self.counters["malformed"] += 1
                log.info("%s", exc)

    def _input(self, msg: Message) -> None:
        if msg.op != BOOTREPLY or msg.xid != self.xid or msg.chaddr != self.mac:
            self.counters["ignored"] += 1  # RFC 2131 4.4.1: not an answer to us
            return
        kind = msg.kind
        state = self.state
        if kind == OFFER and state == State.SELECTING:
            server = msg.address(SERVER_ID)
            if msg.yiaddr in (0, BROADCAST) or server is None:
                self.counters["ignored"] += 1
                return
            self.counters["offers"] += 1
            self._offer = msg
            self.state = State.REQUESTING
            self._attempt = 0
            self._send_selecting_request()
        elif kind == ACK and state in (State.REQUESTING, State.RENEWING, State.REBINDING):
            if state == State.REQUESTING:
                assert self._offer is not None
                server = msg.address(SERVER_ID)
                if server is not None and server != self._offer.address(SERVER_ID):
                    self.counters["ignored"] += 1
                    return
                if self.config.arp_check > 0:
                    self._check(msg)
                    return
            self._bind(msg)
        elif kind == NAK and state in (State.REQUESTING, State.RENEWING, State.REBINDING):
            self.counters["naks"] += 1
            text = msg.options.get(ERROR_MESSAGE, b"").decode("ascii", "replace")
            log.warning("dhcp: DHCPNAK in %s%s", state.value, f": {text}" if text else "")
            self._unconfigure()
            self.state = State.INIT
            self._timer.start_in(self.config.restart_delay)
        else:
            self.counters["ignored"] += 1

    def _check(self, ack: Message) -> None:
        """Probe the acknowledged address and listen for its holder (RFC 2131 4.4.1)."""
        if ack.seconds(LEASE_TIME) is None or ack.yiaddr in (0, BROADCAST):
            raise DhcpError("dhcp: DHCPACK without a lease time or an address")
        arp = self.stack.arp
        assert arp is not None
        self.state = State.CHECKING
        self._acked = ack
        self._conflict = False
        address = ack.yiaddr

        def watch(op: int, sha: bytes, spa: int, tpa: int) -> None:
            # another host using the address, or probing for it at the same time
            if sha != self.mac and (spa == address or (spa == 0 and tpa == address)):
                self._conflict = True
                self._checked()

        arp.watch = watch
        arp.probe(address)
        self._timer.start_in(self.config.arp_check)

    def _checked(self) -> None:
        """The check is over: take the address, or decline it (RFC 2131 4.4.1)."""
        ack = self._acked
        if self.state != State.CHECKING or ack is None:
            return
        arp = self.stack.arp
        assert arp is not None
        arp.watch = None
        self._acked = None
        if not self._conflict:
            self._bind(ack)
            return
        self.counters["declines"] += 1
        log.warning("dhcp: %s is in use on the link; declined", ipv4.int_to_ip(ack.yiaddr))
        options = {MESSAGE_TYPE: bytes((DECLINE,)), REQUESTED_IP: _ip(ack.yiaddr)}
        server = ack.options.get(SERVER_ID)
        if server is not None:
            options[SERVER_ID] = server
        self._send(options, BROADCAST)
        self.state = State.INIT
        self._timer.start_in(self.config.decline_delay)

    def _bind(self, msg: Message) -> None:
        """Take the lease a DHCPACK grants (RFC 2131 4.4.1 and 4.4.5)."""
        lease_time = msg.seconds(LEASE_TIME)
        address = msg.yiaddr
        if lease_time is None or address in (0, BROADCAST):
            raise DhcpError("dhcp: DHCPACK without a lease time or an address")
        mask = msg.address(SUBNET_MASK)
        prefix = prefix_of(mask) if mask is not None else classful_prefix(address)
        if not 0 < prefix < 32:
            raise DhcpError(f"dhcp: a /{prefix} subnet leaves no room for a host and a server")
        server = msg.address(SERVER_ID)
        if server is None:
            server = self.lease.server if self.lease is not None else 0
        # RFC 2131 4.4.1: the lease runs from when the request was sent (the last one sent
        # is still no later than the server's DHCPACK)
        now = self._requested_at
        if lease_time == INFINITE:
            t1 = t2 = expires = float("inf")
        else:
            expires = now + lease_time
            # RFC 2131 4.4.5: T1 0.5 and T2 0.875 of the lease unless the server says,
            # and only a T1 < T2 < lease order makes sense.
            given_t1, given_t2 = msg.seconds(RENEWAL_TIME), msg.seconds(REBINDING_TIME)
            t2s = float(given_t2) if given_t2 and given_t2 < lease_time else lease_time * 7 / 8
            half = lease_time / 2 if lease_time / 2 < t2s else t2s / 2
            t1s = float(given_t1) if given_t1 and given_t1 < t2s else half
            t1, t2 = now + t1s, now + t2s
        domain = msg.options.get(DOMAIN_NAME)
        renewed = self.lease is not None and self.state in (State.RENEWING, State.REBINDING)
        self.lease = Lease(
            address=address,
            prefix=prefix,
            server=server,
            routers=msg.addresses(ROUTER),
            dns=msg.addresses(DNS_SERVERS),
            domain=domain.decode("ascii", "replace") if domain else None,
            lease_time=lease_time,
            obtained=now,
            t1=t1,
            t2=t2,
            expires=expires,
        )
        self.counters["acks"] += 1
        self.state = State.BOUND
        lease = self.lease
        stack = self.stack
        if not renewed or (stack.ip, stack.prefix, stack.gateway) != (
            address,
            prefix,
            lease.gateway,
        ):
            stack.configure(address, prefix, lease.gateway)
        log.info(
            "dhcp: %s %s/%d from %s for %ss",
            "renewed" if renewed else "bound to",
            ipv4.int_to_ip(address),
            prefix,
            ipv4.int_to_ip(server),
            lease_time,
        )
        self._arm_lease_timer()
        if self.on_change is not None:
            self.on_change()

    def _unconfigure(self) -> None:
        had = self.lease is not None
        self.lease = None
        self.stack.configure(0, 0, None)
        if had and self.on_change is not None:
            self.on_change()


def _ip(value: int) -> bytes:
    return value.to_bytes(4, "big")
