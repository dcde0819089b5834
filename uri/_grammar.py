"""RFC 3986 Appendix A as compiled regular expressions.

Every character class is written with the "unrolled loop" idiom
``[set]*+(?:%XX[set]*+)*+`` so that each position can be matched in exactly one
way: matching is linear in the input, also when it fails.
"""

from __future__ import annotations

import re

ALPHA = "A-Za-z"
DIGIT = "0-9"
HEXDIG = "0-9A-Fa-f"
UNRESERVED = r"A-Za-z0-9\-._~"
SUB_DELIMS = r"!$&'()*+,;="
PCT_ENCODED = r"%[0-9A-Fa-f]{2}"

#: the characters themselves (not regex classes), for membership tests
UNRESERVED_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
SUB_DELIM_CHARS = frozenset("!$&'()*+,;=")
GEN_DELIM_CHARS = frozenset(":/?#[]@")
RESERVED_CHARS = SUB_DELIM_CHARS | GEN_DELIM_CHARS


def run(chars: str) -> str:
    """Zero or more of ``[chars]`` or pct-encoded, matched possessively."""
    return rf"[{chars}]*+(?:{PCT_ENCODED}[{chars}]*+)*+"


# character classes of each component (inside [...])
USERINFO_CLS = UNRESERVED + SUB_DELIMS + ":"
REG_NAME_CLS = UNRESERVED + SUB_DELIMS
PCHAR_CLS = UNRESERVED + SUB_DELIMS + ":@"
PATH_CLS = PCHAR_CLS + "/"
QUERY_CLS = PCHAR_CLS + "/?"
FRAGMENT_CLS = QUERY_CLS

SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*"
PORT = r"[0-9]*"

DEC_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
IPV4 = rf"{DEC_OCTET}\.{DEC_OCTET}\.{DEC_OCTET}\.{DEC_OCTET}"
H16 = r"[0-9A-Fa-f]{1,4}"
LS32 = rf"(?:{H16}:{H16}|{IPV4})"
IPV6 = (
    "(?:"
    + "|".join(
        [
            rf"(?:{H16}:){{6}}{LS32}",
            rf"::(?:{H16}:){{5}}{LS32}",
            rf"(?:{H16})?::(?:{H16}:){{4}}{LS32}",
            rf"(?:(?:{H16}:){{0,1}}{H16})?::(?:{H16}:){{3}}{LS32}",
            rf"(?:(?:{H16}:){{0,2}}{H16})?::(?:{H16}:){{2}}{LS32}",
            rf"(?:(?:{H16}:){{0,3}}{H16})?::{H16}:{LS32}",
            rf"(?:(?:{H16}:){{0,4}}{H16})?::{LS32}",
            rf"(?:(?:{H16}:){{0,5}}{H16})?::{H16}",
            rf"(?:(?:{H16}:){{0,6}}{H16})?::",
        ]
    )
    + ")"
)
# RFC 6874: IPv6addrz = IPv6address "%25" ZoneID ; ZoneID = 1*( unreserved / pct-encoded )
ZONE_ID = rf"(?:[{UNRESERVED}]|{PCT_ENCODED})+"
IPV_FUTURE = rf"[vV][0-9A-Fa-f]+\.[{UNRESERVED}{SUB_DELIMS}:]+"
IP_LITERAL = rf"\[(?:{IPV6}(?:%25{ZONE_ID})?|{IPV_FUTURE})\]"
REG_NAME = run(REG_NAME_CLS)
HOST = rf"(?:{IP_LITERAL}|{REG_NAME})"

USERINFO = run(USERINFO_CLS)
PATH = run(PATH_CLS)  # any of the five path shapes; the shape is checked by the caller
QUERY = run(QUERY_CLS)
FRAGMENT = run(FRAGMENT_CLS)

#: a port of at most 65535, leading zeros allowed (RFC 3986 allows any digits; a port
#: beyond what TCP and UDP can use is refused here, and explained by the diagnosis)
PORT_16 = r"0*+(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})?"

#: URI-reference, one match.  Groups: scheme, userinfo, host, port, path, query, fragment.
#: The path's shape rules are conditions on the groups: without an authority (group 3) the
#: path does not start with "//", and without a scheme (group 1) either its first segment
#: holds no ":" (§4.2).
URI_REFERENCE = re.compile(
    rf"(?:({SCHEME}):)?"
    rf"(?://(?:({USERINFO})@)?({HOST})(?::({PORT_16}))?(?=[/?#]|\Z))?"
    r"(?(3)|(?!//)(?(1)|(?![^/?#:]*+:)))"
    rf"({PATH})"
    rf"(?:\?({QUERY}))?"
    rf"(?:#({FRAGMENT}))?\Z"
)

#: origin-form request target (RFC 9112 §3.2.1): absolute-path [ "?" query ]
#: Its groups are numbered as URI_REFERENCE's (path 5, query 6): the others are in a
#: branch that cannot match, so they are None.
ORIGIN_FORM = re.compile(rf"(?:(?!)()()()())?(/{PATH})(?:\?({QUERY}))?(?:(?!)())?\Z")

# component validators (full match)
SCHEME_RE = re.compile(rf"{SCHEME}\Z")
USERINFO_RE = re.compile(rf"{USERINFO}\Z")
HOST_RE = re.compile(rf"{HOST}\Z")
IP_LITERAL_RE = re.compile(rf"{IP_LITERAL}\Z")
IPV4_RE = re.compile(rf"{IPV4}\Z")
IPV6_RE = re.compile(rf"{IPV6}\Z")
ZONE_ID_RE = re.compile(rf"{ZONE_ID}\Z")
REG_NAME_RE = re.compile(rf"{REG_NAME}\Z")
PORT_RE = re.compile(rf"{PORT}\Z")
PATH_RE = re.compile(rf"{PATH}\Z")
SEGMENT_RE = re.compile(rf"{run(PCHAR_CLS)}\Z")
QUERY_RE = re.compile(rf"{QUERY}\Z")
FRAGMENT_RE = re.compile(rf"{FRAGMENT}\Z")

#: RFC 3986 Appendix B: splits any string (used only to report where an error is)
APPENDIX_B = re.compile(r"(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?\Z", re.S)

PCT_TRIPLET = re.compile(r"%([0-9A-Fa-f]{2})")
PCT_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
