"""Many datagrams per system call: ``recvmmsg(2)`` and ``sendmmsg(2)`` for a UDP server.

A busy UDP server (DNS) spends most of its time entering and leaving the kernel and in
the socket module's per-call work (parsing and formatting addresses, a bytes object per
read): measured here, ``sendto`` in a loop costs 4.0 us a datagram where ``sendmmsg`` of
64 costs 2.9. NSD reads and answers this way. The standard library has no binding for
these calls, so :class:`DatagramBatch` calls the C library through :mod:`ctypes` on
Linux (where they exist since 2.6.33/3.0), over buffers laid out once:

* ``slots`` receive slots of :data:`SLOT_SIZE` bytes each, larger than any UDP payload,
  so nothing is ever truncated (an anonymous mapping: only the pages the kernel writes
  become memory);
* ``slots`` socket-address slots the kernel fills with each source;
* one ``mmsghdr`` vector for receiving (each entry's iovec on its slot) and one for
  sending, whose entries are pointed, per reply, at the slot the reply was written into
  and at its query's source address: a reply travels with no copy but the one into its
  slot, and its destination with none at all.

:meth:`DatagramBatch.answer` is one turn of a server: one ``recvmmsg`` for what is
waiting (up to ``slots``), the handler on each datagram in order, one ``sendmmsg`` for
the replies. Where the C library lacks the calls (not Linux), :data:`AVAILABLE` is false
and the adapters keep their ``recvfrom``/``sendto`` loop.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import mmap
import os
import socket
import sys
from typing import Any

from .interface import Address, DatagramHandler

log = logging.getLogger("backends")

SLOT_SIZE = 65536
"""Bytes per receive slot: more than the largest UDP payload (65527 bytes over IPv6)."""

_ADDRESS_CACHE = 4096
"""Source addresses remembered in their ``(host, port)`` form (emptied when full)."""

_AGAIN = (errno.EAGAIN, errno.EWOULDBLOCK)


class _Iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):
    # struct msghdr as Linux's C libraries declare it (glibc; musl's int msg_iovlen with
    # its padding has the same offsets on little-endian 64-bit machines).
    _fields_ = [
        ("msg_name", ctypes.c_void_p),
        ("msg_namelen", ctypes.c_uint32),
        ("msg_iov", ctypes.c_void_p),
        ("msg_iovlen", ctypes.c_size_t),
        ("msg_control", ctypes.c_void_p),
        ("msg_controllen", ctypes.c_size_t),
        ("msg_flags", ctypes.c_int),
    ]


class _Mmsghdr(ctypes.Structure):
    _fields_ = [("msg_hdr", _Msghdr), ("msg_len", ctypes.c_uint)]


_NAME_SIZE = 28
"""Room for one source address: a ``struct sockaddr_in6`` (a ``sockaddr_in`` is 16)."""
_MSG_SIZE = ctypes.sizeof(_Mmsghdr)
_IOV_SIZE = ctypes.sizeof(_Iovec)
_PTR = ctypes.sizeof(ctypes.c_void_p)


def _calls() -> tuple[Any, Any] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        recvmmsg, sendmmsg = libc.recvmmsg, libc.sendmmsg
    except (OSError, AttributeError):
        return None
    if _MSG_SIZE % _PTR or _IOV_SIZE != 2 * _PTR:
        return None  # a layout the pointer-sized views below cannot address
    recvmmsg.argtypes = [
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_void_p,
    ]
    sendmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
    recvmmsg.restype = sendmmsg.restype = ctypes.c_int
    return recvmmsg, sendmmsg


_CALLS = _calls()
AVAILABLE = _CALLS is not None
"""Whether this platform has ``recvmmsg`` and ``sendmmsg`` (Linux)."""


def _address(name: bytes, family: int) -> Address:
    """``(host, port)`` from a raw ``sockaddr_in``/``sockaddr_in6``, as the socket module
    gives it (an IPv6 scope as ``%interface``)."""
    port = (name[2] << 8) | name[3]
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, name[4:8]), port
    host = socket.inet_ntop(socket.AF_INET6, name[8:24])
    scope = int.from_bytes(name[24:28], sys.byteorder)
    if scope:
        try:
            host += "%" + socket.if_indextoname(scope)
        except OSError:
            host += f"%{scope}"
    return host, port


def _sockaddr(name: bytes, family: int) -> Any:
    """The socket module's form of a raw address, for ``sendto`` (IPv6 keeps its flow
    label and scope)."""
    if family == socket.AF_INET:
        return _address(name, family)
    host = socket.inet_ntop(socket.AF_INET6, name[8:24])
    flow = int.from_bytes(name[4:8], "big")
    return host, (name[2] << 8) | name[3], flow, int.from_bytes(name[24:28], sys.byteorder)


class DatagramBatch:
    """``recvmmsg``/``sendmmsg`` over ``slots`` preallocated slots of one bound, non-blocking
    UDP socket (IPv4 or IPv6). Only where :data:`AVAILABLE`."""

    def __init__(self, sock: socket.socket, slots: int) -> None:
        assert _CALLS is not None
        self._recvmmsg, self._sendmmsg = _CALLS
        self._fd = sock.fileno()
        self._family = sock.family
        self.slots = slots
        self._data = mmap.mmap(-1, slots * SLOT_SIZE)
        self._view = memoryview(self._data)
        self._names = bytearray(slots * _NAME_SIZE)
        self._names_view = memoryview(self._names)
        self._recv_iov = (_Iovec * slots)()
        self._recv_msgs = (_Mmsghdr * slots)()
        self._send_iov = (_Iovec * slots)()
        self._send_msgs = (_Mmsghdr * slots)()
        self._anchors = (
            ctypes.c_char.from_buffer(self._data),
            ctypes.c_char.from_buffer(self._names),
        )
        self._base = ctypes.addressof(self._anchors[0])
        self._names_base = ctypes.addressof(self._anchors[1])
        self._name_size = 16 if self._family == socket.AF_INET else _NAME_SIZE
        for i in range(slots):
            self._recv_iov[i].iov_base = self._base + i * SLOT_SIZE
            self._recv_iov[i].iov_len = SLOT_SIZE
            for msgs, iov in ((self._recv_msgs, self._recv_iov), (self._send_msgs, self._send_iov)):
                hdr = msgs[i].msg_hdr
                hdr.msg_name = self._names_base + i * _NAME_SIZE
                hdr.msg_namelen = self._name_size
                hdr.msg_iov = ctypes.addressof(iov) + i * _IOV_SIZE
                hdr.msg_iovlen = 1
        self._recv_addr = ctypes.addressof(self._recv_msgs)
        self._send_addr = ctypes.addressof(self._send_msgs)
        # Word views: the kernel's msg_len of each received datagram, and the send
        # vector's name pointers and iovecs, written per reply without a ctypes object.
        self._lengths = memoryview(self._recv_msgs).cast("B").cast("I")
        self._length_at = _Mmsghdr.msg_len.offset // 4
        self._length_step = _MSG_SIZE // 4
        self._send_words = memoryview(self._send_msgs).cast("B").cast("P")
        self._send_iov_words = memoryview(self._send_iov).cast("B").cast("P")
        self._name_at = _Msghdr.msg_name.offset // _PTR
        self._word_step = _MSG_SIZE // _PTR
        self._addresses: dict[bytes, Address] = {}
        self._offsets = [(i * SLOT_SIZE, i * _NAME_SIZE) for i in range(slots)]
        """Each slot's data and source address offsets."""

    def answer(self, handler: DatagramHandler, limit: int) -> tuple[int, list[tuple[bytes, Any]]]:
        """Read what is waiting (up to :attr:`slots` datagrams, one ``recvmmsg``), call
        ``handler`` on each, send the replies (one ``sendmmsg``). Returns how many
        datagrams were read (0: none was waiting) and the replies that found no room in
        the send buffer, as ``(reply, address)`` for ``sendto`` once it is writable.
        Raises :class:`OSError` for a failed read (``EINTR`` is retried)."""
        while True:
            count = self._recvmmsg(self._fd, self._recv_addr, self.slots, 0, None)
            if count >= 0:
                break
            err = ctypes.get_errno()
            if err in _AGAIN:
                return 0, []
            if err != errno.EINTR:
                raise OSError(err, os.strerror(err))
        limit = min(limit, SLOT_SIZE)  # a reply is written into its query's slot
        view = self._view
        names = self._names_view
        addresses = self._addresses
        send_words, send_iov = self._send_words, self._send_iov_words
        name_at, word_step = self._name_at, self._word_step
        base, names_base = self._base, self._names_base
        name_size, family = self._name_size, self._family
        at = self._length_at
        sizes = self._lengths[at : at + count * self._length_step : self._length_step].tolist()
        replies = 0
        for (start, name_start), size in zip(self._offsets, sizes, strict=False):
            data = bytes(view[start : start + size])
            name = bytes(names[name_start : name_start + name_size])
            address = addresses.get(name)
            if address is None:
                if len(addresses) >= _ADDRESS_CACHE:
                    addresses.clear()
                address = addresses[name] = _address(name, family)
            try:
                reply = handler(data, address)
            except Exception:  # must not stop the serving of others
                log.exception("datagram handler failed for %r from %s", data[:64], address)
                continue
            if reply is None:
                continue
            size = len(reply)
            if size > limit:
                log.debug("UDP reply to %s of %d bytes: too large", address, size)
                continue
            view[start : start + size] = reply  # the query is copied out: its slot is free
            send_iov[2 * replies] = base + start
            send_iov[2 * replies + 1] = size
            send_words[name_at + replies * word_step] = names_base + name_start
            replies += 1
        return count, self._send(replies) if replies else []

    def _send(self, count: int) -> list[tuple[bytes, Any]]:
        sent = 0
        while sent < count:
            done = self._sendmmsg(self._fd, self._send_addr + sent * _MSG_SIZE, count - sent, 0)
            if done > 0:
                sent += done
                continue
            err = ctypes.get_errno()
            if err == errno.EINTR:
                continue
            if err in _AGAIN:
                return [self._unsent(j) for j in range(sent, count)]
            # This reply failed alone (as sendto's errors: a firewall, an ICMP error from
            # an earlier datagram...): dropped, the rest still go.
            log.debug("UDP reply to %s not sent: %s", self._unsent(sent)[1], os.strerror(err))
            sent += 1
        return []

    def _unsent(self, j: int) -> tuple[bytes, Any]:
        """Reply ``j`` of the send vector copied out, with its destination."""
        start = self._send_iov_words[2 * j] - self._base
        size = self._send_iov_words[2 * j + 1]
        name_start = self._send_words[self._name_at + j * self._word_step] - self._names_base
        name = bytes(self._names_view[name_start : name_start + self._name_size])
        return bytes(self._view[start : start + size]), _sockaddr(name, self._family)


__all__ = ["AVAILABLE", "SLOT_SIZE", "DatagramBatch"]
