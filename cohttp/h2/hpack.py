"""HPACK (RFC 7541): header compression for HTTP/2, sans-IO, both directions.

:class:`Encoder` turns a header list (``(name, value)`` byte pairs) into a header block;
:class:`Decoder` does the reverse and keeps its dynamic table in step with the peer's
encoder. Every number a peer sends has a length limit (:func:`decode_integer`), every
string a size limit, and a decoded header list is bounded (``max_header_list_size``,
RFC 9113 6.5.2) without the decoder losing its table state, so a block that expands
into megabytes (an "HPACK bomb") is refused after the bound, not materialised.

Errors are :class:`HPACKError` (the connection's COMPRESSION_ERROR, RFC 9113 4.3) or
:class:`HeaderListTooLarge` (the block was decoded and the table is intact: the stream
can be refused alone, with 431).
"""

from __future__ import annotations

from collections import deque

# -- static table (RFC 7541 Appendix A) ---------------------------------------------------

STATIC_TABLE: tuple[tuple[bytes, bytes], ...] = (
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
)
"""Indices 1..61 (index ``i`` is ``STATIC_TABLE[i - 1]``)."""

_STATIC_LEN = len(STATIC_TABLE)
_STATIC_PAIR: dict[tuple[bytes, bytes], int] = {}
_STATIC_NAME: dict[bytes, int] = {}
for _i, (_n, _v) in enumerate(STATIC_TABLE, 1):
    _STATIC_PAIR.setdefault((_n, _v), _i)
    _STATIC_NAME.setdefault(_n, _i)

ENTRY_OVERHEAD = 32
"""RFC 7541 4.1: an entry's size is its name's and value's lengths plus 32."""

DEFAULT_TABLE_SIZE = 4096
"""RFC 9113 6.5.2: SETTINGS_HEADER_TABLE_SIZE's initial value."""

MAX_INTEGER_OCTETS = 5
"""Continuation octets an integer may take (RFC 7541 5.1 sets no bound; 5 octets reach
2**35, beyond any size or index this decoder would accept)."""

MAX_INTEGER = 1 << 30
"""The largest integer a peer may send (lengths and indices are far below it)."""


class HPACKError(Exception):
    """A header block this decoder cannot decode: the connection's COMPRESSION_ERROR
    (RFC 9113 4.3), since the two tables are no longer in step."""


class HeaderListTooLarge(HPACKError):
    """The decoded header list is over ``max_header_list_size`` (RFC 9113 6.5.2). The block
    was decoded to its end, so the dynamic table is still in step: refuse the stream only."""


# -- integers (RFC 7541 5.1) ---------------------------------------------------------------


def encode_integer(value: int, prefix_bits: int, first: int = 0) -> bytearray:
    """``value`` with an N-bit prefix (RFC 7541 5.1), ``first``'s high bits kept in the
    first octet."""
    if value < 0:
        raise ValueError("HPACK integers are non-negative")
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytearray((first | value,))
    out = bytearray((first | limit,))
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return out


def decode_integer(data: bytes, pos: int, prefix_bits: int) -> tuple[int, int]:
    """The integer with an N-bit prefix at ``data[pos]`` and the position after it.

    At most :data:`MAX_INTEGER_OCTETS` continuation octets and a value of at most
    :data:`MAX_INTEGER` (RFC 7541 8.1: "an implementation... limits on integer values").
    """
    limit = (1 << prefix_bits) - 1
    try:
        value = data[pos] & limit
    except IndexError:
        raise HPACKError("header block ends inside an integer") from None
    pos += 1
    if value < limit:
        return value, pos
    shift = 0
    end = pos + MAX_INTEGER_OCTETS
    while True:
        if pos >= len(data):
            raise HPACKError("header block ends inside an integer")
        if pos >= end:
            raise HPACKError(f"integer longer than {MAX_INTEGER_OCTETS} continuation octets")
        octet = data[pos]
        pos += 1
        value += (octet & 0x7F) << shift
        shift += 7
        if not octet & 0x80:
            break
    if value > MAX_INTEGER:
        raise HPACKError(f"integer {value} over the limit of {MAX_INTEGER}")
    return value, pos


# -- Huffman code (RFC 7541 5.2, Appendix B) --------------------------------------------------

_CODE_LENGTHS = bytes.fromhex(
    "0d171c1c1c1c1c1c1c181e1c1c1e1c1c1c1c1c1c1c1c1e1c1c1c1c1c1c1c1c1c060a0a0c0d06080b0a0a"
    "080b080606060505050606060606060607080f060c0a0d06070707070707070707070707070707070707"
    "070707070807080d130d0e060f05060506050606060507070606060506070605050607070707070f0b0e"
    "0d1c14161414161616171617171717171817181816171817171717151617161717181615141616171715"
    "1716161815161717151516151716171714161616171616171a1a1413161716191a1a1a1b1b1a18191315"
    "1a1b1b1a1b1815151a1a1c1b1b1b14181415161515171616191918181a171a1b1a1a1b1b1b1b1b1c1b1b"
    "1b1b1b1a1e"
)
"""The code length in bits of each symbol 0..256 (256 is EOS): Appendix B's "len" column.

The code of Appendix B is canonical (codes of one length are consecutive, in symbol
order, and each length's first code follows the previous length's last), so the lengths
determine every code; ``tests/cohttp/test_h2_hpack.py`` checks the derived codes against
the hpack package's table.
"""
EOS = 256


def _canonical_codes(lengths: bytes) -> list[int]:
    codes = [0] * len(lengths)
    code = 0
    previous = 0
    for i, symbol in enumerate(sorted(range(len(lengths)), key=lambda s: (lengths[s], s))):
        if i:
            code = (code + 1) << (lengths[symbol] - previous)
        previous = lengths[symbol]
        codes[symbol] = code
    return codes


HUFFMAN_CODES = _canonical_codes(_CODE_LENGTHS)
"""The code of each symbol (as an int of ``_CODE_LENGTHS[symbol]`` bits)."""

_BITS = [format(HUFFMAN_CODES[s], f"0{_CODE_LENGTHS[s]}b") for s in range(256)]
"""Each octet's code as a string of "0"/"1": encoding joins them and converts once."""


def _decoding_machine() -> tuple[list[int], list[bool]]:
    """A 4-bit-at-a-time decoder: ``table[state * 16 + nibble]`` is ``next_state << 9 |
    flags`` with the symbol emitted (if any) in the low 9 bits (flag ``1 << 8`` set: no
    symbol). States are the inner nodes of the code tree (0 is the root); ``accepting[s]``
    says a block may end in state ``s``: at the root, or after at most 7 one-bits (the
    EOS prefix used as padding, RFC 7541 5.2). Reaching EOS itself is an error (-1).
    """
    # Build the tree: children[node] = [left, right]; leaves are ~symbol.
    children: list[list[int]] = [[0, 0]]
    for symbol in range(257):
        code, length = HUFFMAN_CODES[symbol], _CODE_LENGTHS[symbol]
        node = 0
        for bit_index in range(length - 1, -1, -1):
            bit = (code >> bit_index) & 1
            if bit_index == 0:
                children[node][bit] = ~symbol
            else:
                if children[node][bit] == 0:
                    children.append([0, 0])
                    children[node][bit] = len(children) - 1
                node = children[node][bit]
    # A node is accepting when reached from the root by 0..7 one-bits.
    accepting = [False] * len(children)
    node = 0
    for _ in range(8):
        accepting[node] = True
        node = children[node][1]
    table = [0] * (len(children) * 16)
    for state in range(len(children)):
        for nibble in range(16):
            node = state
            emitted = 0x100
            for bit_index in (3, 2, 1, 0):
                nxt = children[node][(nibble >> bit_index) & 1]
                if nxt < 0:
                    symbol = ~nxt
                    if symbol == EOS:
                        emitted = -1
                        break
                    emitted = symbol  # codes are >= 5 bits: one symbol per nibble at most
                    node = 0
                else:
                    node = nxt
            table[state * 16 + nibble] = -1 if emitted == -1 else (node << 9) | emitted
    return table, accepting


_DECODE_TABLE, _ACCEPTING = _decoding_machine()


def huffman_encode(data: bytes) -> bytes:
    """``data`` in the Huffman code, padded with the most significant bits of EOS."""
    if not data:
        return b""
    bits = "".join([_BITS[b] for b in data])
    pad = -len(bits) % 8
    return int(bits + "1" * pad, 2).to_bytes((len(bits) + pad) // 8, "big")


def huffman_length(data: bytes) -> int:
    """The length in octets of :func:`huffman_encode` of ``data``."""
    lengths = _CODE_LENGTHS
    return (sum([lengths[b] for b in data]) + 7) // 8


def huffman_decode(data: bytes | memoryview) -> bytes:
    """Decode a Huffman-coded string; :class:`HPACKError` for EOS in it or for padding
    that is longer than 7 bits or not EOS's prefix (RFC 7541 5.2)."""
    table = _DECODE_TABLE
    out = bytearray()
    append = out.append
    state = 0
    for octet in data:
        entry = table[(state << 4) | (octet >> 4)]
        if entry < 0:
            raise HPACKError("Huffman-coded string contains EOS (RFC 7541 5.2)")
        if not entry & 0x100:
            append(entry & 0xFF)
        entry = table[((entry >> 9) << 4) | (octet & 0x0F)]
        if entry < 0:
            raise HPACKError("Huffman-coded string contains EOS (RFC 7541 5.2)")
        if not entry & 0x100:
            append(entry & 0xFF)
        state = entry >> 9
    if not _ACCEPTING[state]:
        raise HPACKError("Huffman padding is not at most 7 bits of EOS's prefix (RFC 7541 5.2)")
    return bytes(out)


# -- the dynamic table (RFC 7541 2.3.2, 4) ---------------------------------------------------


class _Table:
    """The dynamic table: newest entry first, evicted from the oldest (RFC 7541 4.4)."""

    __slots__ = ("entries", "max_size", "size")

    def __init__(self, max_size: int) -> None:
        self.entries: deque[tuple[bytes, bytes]] = deque()
        self.size = 0
        self.max_size = max_size

    def add(self, name: bytes, value: bytes) -> None:
        size = len(name) + len(value) + ENTRY_OVERHEAD
        if size > self.max_size:  # RFC 7541 4.4: the table is emptied, the entry not added
            self.entries.clear()
            self.size = 0
            return
        self.size += size
        self.entries.appendleft((name, value))
        self._evict()

    def resize(self, max_size: int) -> None:
        self.max_size = max_size
        self._evict()

    def _evict(self) -> None:
        entries = self.entries
        while self.size > self.max_size:
            name, value = entries.pop()
            self.size -= len(name) + len(value) + ENTRY_OVERHEAD

    def get(self, index: int) -> tuple[bytes, bytes]:
        """The entry at HPACK index ``index`` (1-based, static entries first, RFC 7541 2.3.3)."""
        if 0 < index <= _STATIC_LEN:
            return STATIC_TABLE[index - 1]
        try:
            if index <= 0:
                raise IndexError
            return self.entries[index - _STATIC_LEN - 1]
        except IndexError:
            raise HPACKError(f"index {index} is not in the header tables") from None


# -- decoder -----------------------------------------------------------------------------------


class Decoder:
    """Decodes header blocks (RFC 7541 3, 6).

    ``max_table_size`` is our SETTINGS_HEADER_TABLE_SIZE: the largest size a table size
    update may set. ``max_header_list_size`` bounds a decoded list (RFC 9113 6.5.2: names,
    values and 32 octets per field); ``max_string`` bounds one name or value.
    """

    def __init__(
        self,
        max_table_size: int = DEFAULT_TABLE_SIZE,
        max_header_list_size: int = 65536,
        max_string: int = 65536,
    ) -> None:
        self._table = _Table(max_table_size)
        self.max_table_size = max_table_size
        """The limit the peer's table size updates must respect (our setting)."""
        self.max_header_list_size = max_header_list_size
        self.max_string = max_string

    @property
    def table_size(self) -> int:
        """The current size of the dynamic table in octets."""
        return self._table.size

    def decode(self, block: bytes) -> list[tuple[bytes, bytes]]:
        """The header list of one complete header block.

        :class:`HPACKError` for a malformed block; :class:`HeaderListTooLarge` once the
        whole block was decoded, if its list is over ``max_header_list_size``.
        """
        table = self._table
        headers: list[tuple[bytes, bytes]] = []
        append = headers.append
        total = 0
        limit = self.max_header_list_size
        over = False
        pos = 0
        end = len(block)
        first = True  # a table size update may only start a block (RFC 7541 4.2)
        while pos < end:
            octet = block[pos]
            if octet & 0x80:  # indexed header field (RFC 7541 6.1)
                if 0x80 < octet <= 0x80 + _STATIC_LEN:  # a static entry: the common case
                    name, value = STATIC_TABLE[octet - 0x81]
                    pos += 1
                else:
                    index, pos = decode_integer(block, pos, 7)
                    if index == 0:
                        raise HPACKError("indexed header field with index 0 (RFC 7541 6.1)")
                    name, value = table.get(index)
            elif octet & 0x40:  # literal with incremental indexing (RFC 7541 6.2.1)
                name, value, pos = self._literal(block, pos, 6)
                table.add(name, value)
            elif octet & 0x20:  # dynamic table size update (RFC 7541 6.3)
                if not first:
                    raise HPACKError(
                        "dynamic table size update after a header field (RFC 7541 4.2)"
                    )
                size, pos = decode_integer(block, pos, 5)
                if size > self.max_table_size:
                    raise HPACKError(
                        f"table size update to {size}, over the limit {self.max_table_size}"
                    )
                table.resize(size)
                continue
            else:  # literal without indexing (0000) or never indexed (0001), RFC 7541 6.2.2-3
                name, value, pos = self._literal(block, pos, 4)
            first = False
            if not over:
                total += len(name) + len(value) + ENTRY_OVERHEAD
                if total > limit:
                    over = True  # keep decoding: the table must stay in step
                    headers.clear()
                else:
                    append((name, value))
        if over:
            raise HeaderListTooLarge(f"header list over {limit} octets (RFC 9113 6.5.2)")
        return headers

    def _literal(self, block: bytes, pos: int, prefix: int) -> tuple[bytes, bytes, int]:
        index, pos = decode_integer(block, pos, prefix)
        if index:
            name = self._table.get(index)[0]
        else:
            name, pos = self._string(block, pos)
        value, pos = self._string(block, pos)
        return name, value, pos

    def _string(self, block: bytes, pos: int) -> tuple[bytes, int]:
        """A string literal (RFC 7541 5.2): H flag, 7-bit prefix length, octets."""
        if pos >= len(block):
            raise HPACKError("header block ends before a string")
        huffman = block[pos] & 0x80
        length, pos = decode_integer(block, pos, 7)
        if length > self.max_string:
            raise HPACKError(f"string literal of {length} octets, over {self.max_string}")
        end = pos + length
        if end > len(block):
            raise HPACKError("string literal runs past the end of the header block")
        if huffman:
            data = huffman_decode(memoryview(block)[pos:end])
            if len(data) > self.max_string:
                raise HPACKError(f"decoded string of {len(data)} octets, over {self.max_string}")
            return data, end
        return block[pos:end], end


# -- encoder -----------------------------------------------------------------------------------

_NEVER_INDEX = frozenset((b"authorization", b"proxy-authorization", b"cookie", b"set-cookie"))
"""Fields sent as "never indexed" literals (RFC 7541 7.1.3): credentials an intermediary
must not put into a compression context, and cookies (short ones are guessable through
the compression ratio, RFC 7541 7.1.2)."""

_NO_INDEX = frozenset((b":path", b"content-length", b"date", b"etag", b"last-modified", b"age"))
"""Fields whose values change per message: indexing them only churns the table."""


_FIXED_MAX = 512


class Encoder:
    """Encodes header lists into header blocks (RFC 7541 6).

    Uses the static table, a dynamic table of at most ``max_table_size`` octets (the
    peer's SETTINGS_HEADER_TABLE_SIZE, see :meth:`set_max_table_size`) and Huffman coding
    when shorter.
    """

    def __init__(self, max_table_size: int = DEFAULT_TABLE_SIZE) -> None:
        self._table = _Table(max_table_size)
        self._pending_sizes: list[int] = []
        self._index: dict[tuple[bytes, bytes], int] = {}  # pair -> insertion number
        self._name_index: dict[bytes, int] = {}
        self._inserted = 0  # entries added so far: an entry's index is derived from it
        self._fixed: dict[tuple[bytes, bytes], bytes] = {}
        """Fields whose representation does not depend on the dynamic table (a static index,
        or a literal not indexed whose name is static or literal): their octets, reused."""

    def set_max_table_size(self, size: int) -> None:
        """The peer's new SETTINGS_HEADER_TABLE_SIZE: the next block starts with a table size
        update (RFC 7541 4.2; the smallest size is signalled first if it went down and up)."""
        if self._pending_sizes and size >= min(self._pending_sizes):
            self._pending_sizes = [min(self._pending_sizes), size]
        else:
            self._pending_sizes = [size]

    def _dynamic_index(self, number: int | None) -> int | None:
        """The HPACK index of the entry inserted as ``number``, if it is still in the table."""
        if number is None:
            return None
        position = self._inserted - 1 - number  # 0 for the newest
        if position >= len(self._table.entries):
            return None
        return _STATIC_LEN + 1 + position

    def encode(self, headers: list[tuple[bytes, bytes]] | list[tuple[str, str]]) -> bytes:
        """One header block for ``headers`` (names must already be lowercase)."""
        out = bytearray()
        table = self._table
        if self._pending_sizes:
            for size in self._pending_sizes:
                table.resize(size)
                out += encode_integer(size, 5, 0x20)
            self._pending_sizes = []
            self._index.clear()
            self._name_index.clear()
            self._reindex()
            self._fixed.clear()
        fixed = self._fixed
        for name, value in headers:
            if isinstance(name, str):
                name = name.encode("latin-1")
            if isinstance(value, str):
                value = value.encode("latin-1")
            pair = (name, value)
            wire = fixed.get(pair)
            if wire is not None:
                out += wire
                continue
            static = _STATIC_PAIR.get(pair)
            index = static or self._dynamic_index(self._index.get(pair))
            if index is not None and name not in _NEVER_INDEX:
                wire = bytes(encode_integer(index, 7, 0x80))
                if static:
                    self._remember(pair, wire)
                out += wire
                continue
            static_name = _STATIC_NAME.get(name)
            name_index = static_name or self._dynamic_index(self._name_index.get(name))
            if name in _NEVER_INDEX:
                prefix, first, add = 4, 0x10, False
            elif name in _NO_INDEX or len(name) + len(value) + ENTRY_OVERHEAD > table.max_size // 2:
                prefix, first, add = 4, 0x00, False
            else:
                prefix, first, add = 6, 0x40, True
            if name_index:
                wire = bytes(encode_integer(name_index, prefix, first)) + _encode_string(value)
            else:
                wire = bytes(encode_integer(0, prefix, first)) + _encode_string(name)
                wire += _encode_string(value)
            out += wire
            if not add and (static_name or not name_index):
                self._remember(pair, wire)  # the same octets whatever the table holds
            if add:
                table.add(name, value)
                if table.entries and table.entries[0] is not None and table.entries[0] == pair:
                    self._index[pair] = self._inserted
                    self._name_index[name] = self._inserted
                    self._inserted += 1
                else:  # too large: the table was emptied
                    self._index.clear()
                    self._name_index.clear()
        return bytes(out)

    def _remember(self, pair: tuple[bytes, bytes], wire: bytes) -> None:
        fixed = self._fixed
        if len(fixed) >= _FIXED_MAX:
            fixed.clear()
        fixed[pair] = wire

    def _reindex(self) -> None:
        """Rebuild the lookup maps after a resize evicted entries."""
        entries = self._table.entries
        self._inserted = len(entries)
        for position in range(len(entries) - 1, -1, -1):
            name, value = entries[position]
            number = self._inserted - 1 - position
            self._index[(name, value)] = number
            self._name_index[name] = number


def _encode_string(data: bytes) -> bytes:
    """A string literal, Huffman-coded when that is shorter (RFC 7541 5.2)."""
    coded = huffman_length(data)
    if coded < len(data):
        return bytes(encode_integer(coded, 7, 0x80)) + huffman_encode(data)
    return bytes(encode_integer(len(data), 7)) + data


__all__ = [
    "DEFAULT_TABLE_SIZE",
    "STATIC_TABLE",
    "Decoder",
    "Encoder",
    "HPACKError",
    "HeaderListTooLarge",
    "decode_integer",
    "encode_integer",
    "huffman_decode",
    "huffman_encode",
]
