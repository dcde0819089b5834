"""UTS #46 conformance (IdnaTestV2.txt of Unicode 14.0.0) and Punycode (RFC 3492 §7.1)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from uri import UriError
from uri.idna import punycode_decode, punycode_encode, to_ascii, to_unicode

DATA = Path(__file__).with_name("data")
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\x\{([0-9A-Fa-f]{1,6})\}")


def _unescape(s: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), s)


def _status(s: str) -> list[str]:
    return re.split(r"[,\s]+", s.strip("[]").strip()) if s.strip("[] ") else []


def load_cases() -> list[
    tuple[int, str, str, str, str | None, list[str], str, list[str], str, list[str]]
]:
    """(line, source, toUnicode, its status, toAsciiN, status, toAsciiT, status)."""
    cases = []
    with gzip.open(DATA / "IdnaTestV2.txt.gz", "rt", encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.partition("#")[0].strip()
            if not line:
                continue
            cols = [_unescape(c.strip()) for c in line.split(";")]
            source, uni, uni_st, asc_n, asc_n_st, asc_t, asc_t_st = cols
            uni = uni or source
            uni_status = _status(uni_st)
            asc_n = asc_n or uni
            asc_n_status = _status(asc_n_st) if asc_n_st else uni_status
            asc_t = asc_t or asc_n
            asc_t_status = _status(asc_t_st) if asc_t_st else asc_n_status
            cases.append((n, source, uni, uni_status, asc_n, asc_n_status, asc_t, asc_t_status))
    return cases


CASES = load_cases()


def _check(fn, source: str, expected: str, status: list[str]) -> str | None:
    """None when ``fn`` agrees with the file: an error where a status is listed (any
    error: UTS #46 conformance asks for none in particular), else exactly ``expected``."""
    try:
        got = fn(source)
    except UriError as e:
        return None if status else f"{source!r}: raised {e}, expected {expected!r}"
    if status:
        return f"{source!r}: gave {got!r}, expected an error {status}"
    return None if got == expected else f"{source!r}: gave {got!r}, expected {expected!r}"


def test_the_conformance_file_is_whole():
    # Unicode 14.0.0's IdnaTestV2.txt, the version of Python 3.11's unicodedata
    assert len(CASES) == 6235
    assert sum(1 for c in CASES if c[3]) > 3000  # about half the lines expect an error


@pytest.mark.parametrize(
    "operation",
    [
        ("toUnicode", to_unicode, 2, 3),
        ("toAsciiN", to_ascii, 4, 5),
        ("toAsciiT", lambda s: to_ascii(s, transitional=True), 6, 7),
    ],
    ids=lambda op: op[0],
)
def test_uts46_conformance(operation):
    """Every line of IdnaTestV2.txt, with the UTS #46 defaults (CheckHyphens, CheckBidi,
    CheckJoiners, UseSTD3ASCIIRules and, for ToASCII, VerifyDnsLength all on): none is
    skipped."""
    _, fn, result, status = operation
    failures = [
        f"line {c[0]}: {msg}"
        for c in CASES
        if (msg := _check(fn, c[1], c[result], c[status])) is not None
    ]
    assert failures == [], f"{len(failures)} failures, first: {failures[:5]}"


def test_to_ascii_and_to_unicode():
    assert to_ascii("bücher.example") == "xn--bcher-kva.example"
    assert to_ascii("BÜCHER.Example.") == "xn--bcher-kva.example."
    assert to_ascii("faß.de") == "xn--fa-hia.de"  # nontransitional: ß kept
    assert to_ascii("faß.de", transitional=True) == "fass.de"
    assert to_ascii("例え。テスト") == "xn--r8jz45g.xn--zckzah"  # ideographic full stop
    assert to_ascii("example.com") == "example.com"
    assert to_unicode("xn--bcher-kva.example") == "bücher.example"
    assert to_unicode("XN--BCHER-KVA.example") == "bücher.example"
    assert to_unicode(to_ascii("ουτοπία.δπθ.gr")) == "ουτοπία.δπθ.gr"
    assert to_ascii("a\u00adb.com") == "ab.com"  # SOFT HYPHEN is ignored


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("a..b", "A4_2"),
        ("-a.com", "V3"),
        ("a-.com", "V3"),
        ("üb--c.com", "V2"),
        ("a b.com", "U1"),
        ("x" * 64, "A4_2"),
        (".".join(["a" * 63] * 5), "A4_1"),
        ("a\u0301.com".replace("a", ""), "V5"),  # a leading combining mark
        ("a\u200cb.com", "C1"),  # ZWNJ between two Latin letters
        ("a\u200db.com", "C2"),
        ("\u05d0.1", "B1"),  # a Bidi name: the label "1" starts with EN
        ("\u05d0a", "B2"),  # a right-to-left label holding an L
        ("a\u05d0", "B5"),
        ("\ufdd0.com", "P1"),  # a noncharacter
        ("xn--a.com", "V6"),  # decodes to U+0080
        ("xn--ascii-.com", "P4"),  # all ASCII once decoded (UTS #46 15.1)
        ("xn--ab-.com", "P4"),
        ("xn--99999999999999999999999999.com", "P4"),  # beyond U+10FFFF
        ("xn--a!.com", "U1"),
    ],
)
def test_errors_name_the_rule(name, code):
    with pytest.raises(UriError, match=f"UTS #46 {code}") as e:
        to_ascii(name)
    assert e.value.component == "host"


def test_joiners_where_rfc_5892_allows_them():
    # after a virama (A.1 and A.2), and ZWNJ between Arabic letters that join (A.1)
    for label in ("\u0915\u094d\u200d\u0937", "\u0915\u094d\u200c\u0937", "\u0628\u200c\u0628"):
        assert to_ascii(label) == "xn--" + label.encode("punycode").decode()
        assert to_unicode(to_ascii(label)) == label
    assert to_ascii("a\u200cb", check_joiners=False) == "xn--ab-j1t"
    assert to_ascii("a\u200cb", check_joiners=False, transitional=True) == "ab"


def test_contexto_is_opt_in():
    # UTS #46 lookup allows these; IDNA2008 registration (RFC 5892 A.3, A.7) does not
    for name in ("a\u00b7b", "\u30fbx"):
        to_ascii(name)
        with pytest.raises(UriError, match="C3"):
            to_ascii(name, check_contexto=True)
    for name in ("l\u00b7l", "\u30fb\u30ab", "\u0375\u03b1", "\u05d0\u05f3"):
        to_ascii(name, check_contexto=True, check_bidi=False)
    with pytest.raises(UriError, match="C3"):
        to_ascii("\u0660\u06f0", check_contexto=True, check_bidi=False)


def test_punycode_examples():
    assert punycode_encode("bücher") == "bcher-kva"
    assert punycode_encode("例え") == "r8jz45g"
    assert punycode_decode("bcher-kva") == "bücher"
    assert punycode_decode("-> $1.00 <--") == "-> $1.00 <-"  # RFC 3492 §7.1 (S)
    for bad in ("a-é", "ab-!", "9", "99999999999999999999999999", "x" * 1001):
        with pytest.raises(ValueError):
            punycode_decode(bad)


@given(st.text(max_size=40))
def test_punycode_agrees_with_the_stdlib_codec(text):
    # Python's "punycode" codec is RFC 3492 too: an independent implementation
    assert punycode_encode(text) == text.encode("punycode").decode("ascii")
    assert punycode_decode(punycode_encode(text)) == text


def test_agrees_with_the_idna_package():
    idna = pytest.importorskip("idna")
    for name in ["bücher.example", "münchen.de", "例え.テスト", "ουτοπία.δπθ.gr", "faß.de"]:
        assert to_ascii(name) == idna.encode(name, uts46=True).decode()


def test_the_tables_are_what_the_generator_makes():
    from uri import _gen_idna

    committed = (Path(_gen_idna.__file__).with_name("_idna_data.py")).read_text(encoding="utf-8")
    assert _gen_idna.generate(DATA) == committed
