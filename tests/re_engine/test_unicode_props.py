"""Unicode properties ``\\p{..}``: differential against the ``regex`` module over all code points."""

from __future__ import annotations

import unicodedata

import pytest

import re_engine
from re_engine.charset import CharSet, _all_chars, _category, unicode_property
from re_engine.errors import ParseError
from re_engine.unicode_tables import SCRIPTS, UNICODE_VERSION

regex = pytest.importorskip("regex", reason="the regex package (test extra) is the oracle")

# Code points whose general category changed after unicodedata's Unicode version
# (UnicodeData.txt of 14.0/15.0 against 16.0, which the regex module follows).
CATEGORY_CHANGES = {
    0x0295: ("Ll", "Lo"),  # LATIN LETTER PHARYNGEAL VOICED FRICATIVE
    0x1171E: ("Mn", "Mc"),  # AHOM CONSONANT SIGN MEDIAL RA
}

CATEGORIES = [
    "L", "LC", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No",
    "P", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So",
    "Z", "Zs", "Zl", "Zp", "C", "Cc", "Cf", "Co",
]  # fmt: skip


def _theirs(prop: str) -> CharSet:
    runs = regex.finditer(r"\p{" + prop + "}+", _all_chars())
    return CharSet((m.start(), m.end() - 1) for m in runs)


def _ours(prop: str) -> CharSet:
    cs = unicode_property(prop)
    assert cs is not None, prop
    return cs


def _points(cs: CharSet) -> list[int]:
    return [cp for lo, hi in cs.ranges for cp in range(lo, hi + 1)]


@pytest.fixture(scope="module")
def assigned() -> CharSet:
    """Code points assigned in unicodedata's version: later ones the oracle knows and we do not."""
    return _category("Cn").complement()


def test_table_version_is_unicodedata_version() -> None:
    assert unicodedata.unidata_version == UNICODE_VERSION


@pytest.mark.parametrize("prop", CATEGORIES)
def test_general_category_matches_regex(prop: str, assigned: CharSet) -> None:
    ours = _ours(prop).inter(assigned)
    theirs = _theirs(prop).inter(assigned)
    for cp in _points(
        ours.diff(theirs).union(theirs.diff(ours))
    ):  # only where the category changed between the versions
        assert cp in CATEGORY_CHANGES, hex(cp)
        assert unicodedata.category(chr(cp)) == CATEGORY_CHANGES[cp][0], hex(cp)


def test_every_script_matches_regex(assigned: CharSet) -> None:
    """All scripts of the table, over every code point assigned in our Unicode version."""
    checked = 0
    for names in SCRIPTS:
        try:
            theirs = _theirs("Script=" + names[0]).inter(assigned)
        except regex.error:  # a script newer than the oracle (none today)
            continue
        ours = _ours(names[0]).inter(assigned)
        assert ours == theirs, (names, ours.diff(theirs), theirs.diff(ours))
        checked += 1
    assert checked >= 150


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("Greek", "Greek"),
        ("Grek", "Greek"),
        ("Script=Greek", "Greek"),
        ("sc=Grek", "Greek"),
        ("script = greek", "Greek"),
        ("Uppercase_Letter", "Lu"),
        ("gc=Lu", "Lu"),
        ("General_Category=Uppercase Letter", "Lu"),
        ("L&", "LC"),
        ("letter", "L"),
        ("Zinh", "Inherited"),
        ("Qaai", "Inherited"),
    ],
)
def test_aliases(spelling: str, canonical: str) -> None:
    assert unicode_property(spelling) == unicode_property(canonical)


def test_any_assigned_ascii() -> None:
    assert unicode_property("Any") == CharSet([(0, 0x10FFFF)])
    assert unicode_property("ASCII") == CharSet([(0, 0x7F)])
    cs = unicode_property("Assigned")
    assert cs is not None and 0x41 in cs and 0x378 not in cs and 0x10FFFF not in cs


SAMPLE = "Abc Ωμέγα Привет 中文 ١٢٣ ÉCOLE ǅ x\u0301 ₿ 😀 \u2028"


@pytest.mark.parametrize(
    "pattern",
    [
        r"\p{L}+",
        r"\pL+",
        r"\PL+",
        r"\p{Lu}",
        r"\p{Greek}+",
        r"\p{Script=Greek}+",
        r"\p{sc=Grek}+",
        r"\P{Greek}+",
        r"\p{^Greek}+",
        r"\P{^Greek}+",
        r"[\p{Greek}\p{Cyrillic}]+",
        r"[^\p{L}\s]+",
        r"[\p{Nd}a-c]+",
        r"\p{Han}",
        r"\p{Lt}",
        r"\p{Mn}",
        r"\p{Sc}",
        r"\p{Zl}",
        r"\p{So}",
        r"(?i)\p{Lu}+",
        r"(?i)[\p{Ll}]+",
    ],
)
def test_matches_like_regex(pattern: str) -> None:
    ours = re_engine.compile(pattern)
    theirs = regex.compile(pattern, regex.VERSION0)
    assert [m.span() for m in ours.finditer(SAMPLE)] == [m.span() for m in theirs.finditer(SAMPLE)]


@pytest.mark.parametrize(
    "pattern", [r"\p{Klingon}", r"\p", r"\p{Greek", r"\p{sc=Nope}", r"\p{foo=Greek}", r"[\p{}]"]
)
def test_bad_property_is_a_parse_error(pattern: str) -> None:
    with pytest.raises(ParseError):
        re_engine.compile(pattern)


def test_re_class_table_is_what_re_scans() -> None:
    """The generated \\w \\d \\s tables equal re's own classes on this Python."""
    import unicodedata

    from re_engine import charset, re_classes

    if unicodedata.unidata_version != re_classes.UNICODE_VERSION:
        pytest.skip("the table is for another Unicode version (charset scans instead)")
    for cls in (r"\w", r"\d", r"\s"):
        assert charset._from_re_class(cls) == charset._scan_re_class(cls), cls
