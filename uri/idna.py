"""International domain names: UTS #46 processing, ToASCII and ToUnicode, and Punycode.

>>> from uri.idna import to_ascii, to_unicode
>>> to_ascii("Bücher.example"), to_unicode("xn--bcher-kva.example")
('xn--bcher-kva.example', 'bücher.example')
>>> to_ascii("faß.de"), to_ascii("faß.de", transitional=True)
('xn--fa-hia.de', 'fass.de')

What is implemented, with the step numbers of UTS #46 (Unicode 14.0.0, the version of
Python 3.11's ``unicodedata``; the tables in ``_idna_data.py`` are generated from the
Unicode data files by ``python -m uri._gen_idna``):

* §4 Processing: 1. the mapping of ``IdnaMappingTable.txt`` (``transitional`` folds the
  four deviation characters ``ß ς ZWJ ZWNJ``; ``use_std3_ascii_rules`` refuses the ASCII
  characters outside letters, digits and ``-``); 2. NFC; 3. split at ``.``; 4. an
  ``xn--`` label is decoded by Punycode (RFC 3492, written here) and checked.
* §4.1 Validity Criteria: 1. NFC; 2.-3. the hyphen rules (``check_hyphens``); 4. no
  ``.``; 5. no leading combining mark; 6. only valid (or deviation) code points;
  7. CONTEXTJ (RFC 5892 Appendix A.1, A.2: ``check_joiners``); 8. the Bidi rule
  (RFC 5893 §2, on every label of a name that has a right-to-left label: ``check_bidi``).
* §4.2 ToASCII (with ``verify_dns_length``: labels 1..63 octets, the name 1..253
  octets without its root) and §4.3 ToUnicode.
* Optional, off by default as in UTS #46: the CONTEXTO rules of RFC 5892 Appendix A.3-A.9
  (``check_contexto=True``; what a registry applies, not a lookup).

Any error raises :class:`uri.UriError` (component ``host``) naming the rule, its UTS #46
status code (as in ``IdnaTestV2.txt``) and the label.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right

from ._errors import UriError

__all__ = ["punycode_decode", "punycode_encode", "to_ascii", "to_unicode"]

# ---------------------------------------------------------------------- tables
_tables: tuple[list[int], list[str], list[int], str, list[int], str] | None = None


def _parse_runs(text: str) -> tuple[list[int], list[str]]:
    starts: list[int] = []
    values: list[str] = []
    for row in text.splitlines():
        start, _, value = row.partition(" ")
        starts.append(int(start, 16))
        values.append(value)
    return starts, values


def _load() -> tuple[list[int], list[str], list[int], str, list[int], str]:
    """The generated tables, parsed on first use (most hosts are ASCII and never need them)."""
    global _tables
    if _tables is None:
        from . import _idna_data as D

        if unicodedata.unidata_version != D.UNIDATA_VERSION:  # pragma: no cover
            raise RuntimeError(
                f"uri/_idna_data.py is for Unicode {D.UNIDATA_VERSION}, but unicodedata is "
                f"{unicodedata.unidata_version}: run python -m uri._gen_idna"
            )
        ms, mv = _parse_runs(D.MAPPING)
        js, jv = _parse_runs(D.JOINING_TYPE)
        ss, sv = _parse_runs(D.SCRIPT)
        _tables = (ms, mv, js, "".join(jv), ss, "".join(sv))
    return _tables


def _status(o: int) -> str:
    """The UTS #46 row of code point ``o``: a status letter, then the mapping if any."""
    ms, mv = _load()[:2]
    return mv[bisect_right(ms, o) - 1]


def _target(row: str) -> str:
    return "".join(chr(int(h, 16)) for h in row[2:].split())


def _joining_type(c: str) -> str:
    t = _load()
    return t[3][bisect_right(t[2], ord(c)) - 1]


def _script(c: str) -> str:
    t = _load()
    return t[5][bisect_right(t[4], ord(c)) - 1]


# ---------------------------------------------------------------------- Punycode
_BASE, _TMIN, _TMAX, _SKEW, _DAMP = 36, 1, 26, 38, 700
_INITIAL_BIAS, _INITIAL_N = 72, 0x80
_DIGITS = "abcdefghijklmnopqrstuvwxyz0123456789"
_DIGIT_VALUE = {c: i for i, c in enumerate(_DIGITS)} | {
    c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
}
#: longest Punycode text decoded (decoding is quadratic in the worst case; a DNS label is
#: at most 59 characters after ``xn--``)
MAX_PUNYCODE = 1000


def _adapt(delta: int, numpoints: int, first: bool) -> int:
    """RFC 3492 §6.1."""
    delta = delta // _DAMP if first else delta // 2
    delta += delta // numpoints
    k = 0
    while delta > ((_BASE - _TMIN) * _TMAX) // 2:
        delta //= _BASE - _TMIN
        k += _BASE
    return k + (_BASE - _TMIN + 1) * delta // (delta + _SKEW)


def _threshold(k: int, bias: int) -> int:
    return _TMIN if k <= bias else _TMAX if k >= bias + _TMAX else k - bias


def punycode_encode(text: str) -> str:
    """RFC 3492 §6.3: ``text`` as Punycode (without the ``xn--`` prefix)."""
    if len(text) > MAX_PUNYCODE:
        raise ValueError(f"{len(text)} characters is over {MAX_PUNYCODE} to encode")
    cps = [ord(c) for c in text]
    out = [c for c in text if ord(c) < 0x80]
    b = h = len(out)
    if b:
        out.append("-")
    n, delta, bias = _INITIAL_N, 0, _INITIAL_BIAS
    while h < len(cps):
        m = min(c for c in cps if c >= n)
        delta += (m - n) * (h + 1)
        n = m
        for c in cps:
            if c < n:
                delta += 1
            elif c == n:
                q, k = delta, _BASE
                while True:
                    t = _threshold(k, bias)
                    if q < t:
                        break
                    out.append(_DIGITS[t + (q - t) % (_BASE - t)])
                    q = (q - t) // (_BASE - t)
                    k += _BASE
                out.append(_DIGITS[q])
                bias = _adapt(delta, h + 1, h == b)
                delta = 0
                h += 1
        delta += 1
        n += 1
    return "".join(out)


def punycode_decode(text: str) -> str:
    """RFC 3492 §6.2: the Unicode text that the Punycode ``text`` encodes.

    Raises :class:`ValueError` for a non-basic character, a bad digit, a code point beyond
    U+10FFFF, a truncated number, or text over :data:`MAX_PUNYCODE` characters.
    """
    if len(text) > MAX_PUNYCODE:
        raise ValueError(f"{len(text)} characters is over {MAX_PUNYCODE} to decode")
    if not text.isascii():
        raise ValueError("Punycode is ASCII")
    cut = text.rfind("-")
    out = list(text[:cut]) if cut > 0 else []
    j = cut + 1 if cut >= 0 else 0
    n, i, bias = _INITIAL_N, 0, _INITIAL_BIAS
    while j < len(text):
        old_i, w, k = i, 1, _BASE
        size = len(out) + 1
        limit = (0x110000 - n) * size  # i at or over this makes a code point over U+10FFFF
        while True:
            if j == len(text):
                raise ValueError("the last number is cut short")
            d = _DIGIT_VALUE.get(text[j])
            if d is None:
                raise ValueError(f"{text[j]!r} is not a Punycode digit")
            j += 1
            i += d * w
            if i >= limit:
                raise ValueError("a code point over U+10FFFF")
            t = _threshold(k, bias)
            if d < t:
                break
            w *= _BASE - t
            k += _BASE
        bias = _adapt(i - old_i, size, old_i == 0)
        n += i // size
        i %= size
        out.insert(i, chr(n))
        i += 1
    return "".join(out)


# ---------------------------------------------------------------------- the rules
_VIRAMA = 9  # Canonical_Combining_Class of a virama
_RTL = frozenset(("R", "AL", "AN"))
_BIDI_RTL_ALLOWED = frozenset(("R", "AL", "AN", "EN", "ES", "CS", "ET", "ON", "BN", "NSM"))
_BIDI_LTR_ALLOWED = frozenset(("L", "EN", "ES", "CS", "ET", "ON", "BN", "NSM"))
_ARABIC_INDIC = range(0x0660, 0x066A)
_EXTENDED_ARABIC_INDIC = range(0x06F0, 0x06FA)


class _Fail(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _contextj(label: str, i: int) -> bool:
    """RFC 5892 Appendix A.1 (ZERO WIDTH NON-JOINER) and A.2 (ZERO WIDTH JOINER) at ``i``."""
    if i > 0 and unicodedata.combining(label[i - 1]) == _VIRAMA:
        return True
    if label[i] == "\u200d":
        return False
    # (Joining_Type:{L,D})(Joining_Type:T)*\u200C(Joining_Type:T)*(Joining_Type:{R,D})
    j = i - 1
    while j >= 0 and _joining_type(label[j]) == "T":
        j -= 1
    if j < 0 or _joining_type(label[j]) not in "LD":
        return False
    j = i + 1
    while j < len(label) and _joining_type(label[j]) == "T":
        j += 1
    return j < len(label) and _joining_type(label[j]) in "RD"


def _contexto(label: str, i: int) -> bool:
    """RFC 5892 Appendix A.3-A.9 for the CONTEXTO code point at ``i`` (True: allowed)."""
    c = ord(label[i])
    if c == 0x00B7:  # A.3 MIDDLE DOT: between two 'l'
        return 0 < i < len(label) - 1 and label[i - 1] == "l" and label[i + 1] == "l"
    if c == 0x0375:  # A.4 GREEK LOWER NUMERAL SIGN: followed by Greek
        return i + 1 < len(label) and _script(label[i + 1]) == "G"
    if c in (0x05F3, 0x05F4):  # A.5, A.6 HEBREW GERESH, GERSHAYIM: after Hebrew
        return i > 0 and _script(label[i - 1]) == "H"
    if c == 0x30FB:  # A.7 KATAKANA MIDDLE DOT: some Hiragana, Katakana or Han in the label
        return any(x != "\u30fb" and _script(x) in "ikh" for x in label)
    if c in _ARABIC_INDIC:  # A.8: not mixed with Extended Arabic-Indic digits
        return not any(ord(x) in _EXTENDED_ARABIC_INDIC for x in label)
    if c in _EXTENDED_ARABIC_INDIC:  # A.9: not mixed with Arabic-Indic digits
        return not any(ord(x) in _ARABIC_INDIC for x in label)
    return True


_CONTEXTO = frozenset(
    (0x00B7, 0x0375, 0x05F3, 0x05F4, 0x30FB, *_ARABIC_INDIC, *_EXTENDED_ARABIC_INDIC)
)


def _check_label(
    label: str,
    *,
    transitional: bool,
    check_hyphens: bool,
    check_joiners: bool,
    check_contexto: bool,
    std3: bool,
) -> None:
    """UTS #46 §4.1 Validity Criteria 1-7 (the Bidi rule, 8, looks at the whole name)."""
    if unicodedata.normalize("NFC", label) != label:
        raise _Fail("V1", "is not in Unicode normalization form C")
    if check_hyphens:
        if label[2:4] == "--":
            raise _Fail("V2", "has '--' in its third and fourth positions")
        if label[:1] == "-" or label[-1:] == "-":
            raise _Fail("V3", "starts or ends with '-'")
    if "." in label:
        raise _Fail("V4", "holds a '.'")
    if label and unicodedata.category(label[0])[0] == "M":
        raise _Fail("V5", "starts with a combining mark")
    for i, c in enumerate(label):
        o = ord(c)
        if o < 0x80:
            if c.islower() or c.isdigit() or c == "-" or (not std3 and not c.isupper()):
                continue
            s = "X"
        else:
            s = _status(o)[0]
        if not (s == "V" or (s == "D" and not transitional) or (s == "3" and not std3)):
            raise _Fail("V6", f"holds U+{o:04X} ({unicodedata.name(c, 'unnamed')}), not valid")
        if check_joiners and o in (0x200C, 0x200D) and not _contextj(label, i):
            code = "C1" if o == 0x200C else "C2"
            raise _Fail(code, f"holds U+{o:04X} out of the context RFC 5892 allows")
        if check_contexto and o in _CONTEXTO and not _contexto(label, i):
            raise _Fail("C3", f"holds U+{o:04X} out of the context RFC 5892 allows")


def _check_bidi(label: str) -> None:
    """RFC 5893 §2, the six conditions of the Bidi rule."""
    classes = [unicodedata.bidirectional(c) for c in label]
    first = classes[0]
    if first not in ("L", "R", "AL"):
        raise _Fail("B1", "in a right-to-left name starts with neither L, R nor AL")
    last = len(classes) - 1
    while last > 0 and classes[last] == "NSM":
        last -= 1
    if first == "L":
        if not _BIDI_LTR_ALLOWED.issuperset(classes):
            raise _Fail("B5", "is left-to-right but holds a right-to-left character")
        if classes[last] not in ("L", "EN"):
            raise _Fail("B6", "is left-to-right but does not end with L or EN")
    else:
        if not _BIDI_RTL_ALLOWED.issuperset(classes):
            raise _Fail("B2", "is right-to-left but holds a character of another class")
        if classes[last] not in ("R", "AL", "EN", "AN"):
            raise _Fail("B3", "is right-to-left but does not end with R, AL, EN or AN")
        if "EN" in classes and "AN" in classes:
            raise _Fail("B4", "mixes European and Arabic-Indic digits")


# ---------------------------------------------------------------------- processing
def _map(name: str, transitional: bool, std3: bool) -> str:
    """UTS #46 §4 Processing step 1 (map) and 2 (NFC)."""
    out: list[str] = []
    for pos, c in enumerate(name):
        o = ord(c)
        if o < 0x80:
            if "A" <= c <= "Z":
                out.append(c.lower())
                continue
            if std3 and not (c.islower() or c.isdigit() or c in "-."):
                raise _Fail("U1", f"U+{o:04X} {c!r} at {pos} is not a letter, digit or '-'")
            out.append(c)
            continue
        row = _status(o)
        s = row[0]
        if s == "V" or (s == "D" and not transitional):
            out.append(c)
        elif s in "MD" or (s == "4" and not std3):
            out.append(_target(row))
        elif s == "3" and not std3:
            out.append(c)
        elif s != "I":
            code = "P1" if s == "X" else "U1"
            raise _Fail(
                code, f"U+{o:04X} ({unicodedata.name(c, 'unnamed')}) at {pos} is disallowed"
            )
    return unicodedata.normalize("NFC", "".join(out))


def _process(
    name: str,
    *,
    transitional: bool,
    check_hyphens: bool,
    check_bidi: bool,
    check_joiners: bool,
    check_contexto: bool,
    std3: bool,
) -> list[str]:
    """UTS #46 §4: the labels of ``name`` as Unicode, checked (§4.1); raises _Fail."""
    labels = _map(name, transitional, std3).split(".")
    for n, label in enumerate(labels):
        plain = transitional
        if label.startswith("xn--"):
            try:
                decoded = labels[n] = punycode_decode(label[4:])
            except ValueError as e:
                raise _Fail("P4", f"{label!r} is not Punycode: {e}")
            if decoded.isascii():  # UTS #46 15.1 §4 step 4.1 (14.0 let "xn--ascii-" through)
                raise _Fail("P4", f"{label!r} is an A-label of no non-ASCII character")
            label = decoded
            plain = False  # §4 step 4: a decoded label is checked without transitional folding
        try:
            _check_label(
                label,
                transitional=plain,
                check_hyphens=check_hyphens,
                check_joiners=check_joiners,
                check_contexto=check_contexto,
                std3=std3,
            )
        except _Fail as e:
            raise _Fail(e.code, f"label {label!r} {e.reason}")
    if check_bidi and any(
        unicodedata.bidirectional(c) in _RTL for label in labels for c in label if ord(c) >= 0x80
    ):
        for label in labels:
            if label:
                try:
                    _check_bidi(label)
                except _Fail as e:
                    raise _Fail(e.code, f"label {label!r} {e.reason}")
    return labels


def _error(name: str, e: _Fail) -> UriError:
    return UriError("host", -1, f"{e.reason} (UTS #46 {e.code})", name)


def to_ascii(
    name: str,
    *,
    transitional: bool = False,
    check_hyphens: bool = True,
    check_bidi: bool = True,
    check_joiners: bool = True,
    check_contexto: bool = False,
    use_std3_ascii_rules: bool = True,
    verify_dns_length: bool = True,
) -> str:
    """UTS #46 §4.2 ToASCII: ``name`` with its labels mapped, checked and every non-ASCII
    label written as its A-label (``xn--`` and Punycode).

    The defaults are those of UTS #46 and its conformance tests: nontransitional (``ß``
    stays ``ß``), every check on but CONTEXTO. WHATWG URL hosts use
    ``check_hyphens=False, use_std3_ascii_rules=False, verify_dns_length=False``.
    """
    if name.isascii() and name.islower() and _is_plain_ldh(name):
        return name  # fast path: lowercase letters, digits and inner hyphens
    try:
        labels = _process(
            name,
            transitional=transitional,
            check_hyphens=check_hyphens,
            check_bidi=check_bidi,
            check_joiners=check_joiners,
            check_contexto=check_contexto,
            std3=use_std3_ascii_rules,
        )
        out = []
        for label in labels:
            if not label.isascii():
                if verify_dns_length and len(label) > 63:  # its A-label would be longer
                    raise _Fail("A4_2", f"label {label!r} is over 63 octets")
                try:
                    label = "xn--" + punycode_encode(label)
                except ValueError as e:  # over MAX_PUNYCODE
                    raise _Fail("A3", f"label {label[:20]!r}... cannot be encoded: {e}")
            out.append(label)
        if verify_dns_length:
            body = out[:-1] if len(out) > 1 and out[-1] == "" else out
            for label in body:
                if not 1 <= len(label) <= 63:
                    raise _Fail("A4_2", f"label {label!r} is {len(label)} octets, not 1..63")
            total = len(".".join(body))
            if total > 253:
                raise _Fail("A4_1", f"the name is {total} octets, over 253")
    except _Fail as e:
        raise _error(name, e)
    return ".".join(out)


def _is_plain_ldh(name: str) -> bool:
    for label in name.split("."):
        if not label or len(label) > 63 or label[0] == "-" or label[-1] == "-":
            return False
        if label[2:4] == "--" or not label.replace("-", "").isalnum():
            return False
    return len(name) <= 253


def to_unicode(
    name: str,
    *,
    transitional: bool = False,
    check_hyphens: bool = True,
    check_bidi: bool = True,
    check_joiners: bool = True,
    check_contexto: bool = False,
    use_std3_ascii_rules: bool = True,
) -> str:
    """UTS #46 §4.3 ToUnicode: ``name`` with its labels mapped and checked and every
    A-label written as Unicode. Raises :class:`uri.UriError` where UTS #46 records an error."""
    try:
        labels = _process(
            name,
            transitional=transitional,
            check_hyphens=check_hyphens,
            check_bidi=check_bidi,
            check_joiners=check_joiners,
            check_contexto=check_contexto,
            std3=use_std3_ascii_rules,
        )
        # IdnaTestV2's X4_2: an empty label, but for the root after a final "."
        if "" in (labels[:-1] if len(labels) > 1 else labels):
            raise _Fail("X4_2", "an empty label")
    except _Fail as e:
        raise _error(name, e)
    return ".".join(labels)
