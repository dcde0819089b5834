"""uri/README.md's migration table: every urllib.parse, yarl and uri cell runs and gives
the value of its row's last column."""

from __future__ import annotations

import ast
import re
import urllib.parse
from pathlib import Path

import pytest

from uri import Uri, normalize, pct_decode, pct_encode

README = Path(__file__).resolve().parents[2] / "uri" / "README.md"
TEXT = README.read_text(encoding="utf-8")
SAMPLE = ast.literal_eval(re.search(r"^With `s = (\".*?\")`", TEXT, re.M).group(1))  # type: ignore[union-attr]
TABLE = TEXT[TEXT.index("| idiom | `urllib.parse` | yarl | uri | gives |") :].split("\n\n")[0]
COLUMNS = ("urllib.parse", "yarl", "uri")


def rows() -> list[tuple[str, list[str], str]]:
    out = []
    for line in TABLE.splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        idiom, *code, gives = cells
        assert len(code) == 3, line
        out.append((idiom, [c.strip("`") for c in code], gives.strip("`")))
    return out


ROWS = rows()


def test_the_table_is_there():
    assert len(ROWS) >= 20
    assert all(code[2] != "—" for _, code, _ in ROWS), "every row has a uri idiom"


@pytest.mark.parametrize("column", range(3), ids=COLUMNS)
@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_each_idiom_gives_the_value_shown(row, column):
    _, code, gives = row
    expr = code[column]
    if expr == "—":
        pytest.skip(f"{COLUMNS[column]} has no such idiom")
    names: dict[str, object] = {
        "s": SAMPLE,
        "Uri": Uri,
        "normalize": normalize,
        "pct_encode": pct_encode,
        "pct_decode": pct_decode,
        **{n: getattr(urllib.parse, n) for n in urllib.parse.__all__},
    }
    if column == 1:
        names["URL"] = pytest.importorskip("yarl", reason="yarl is a bench peer (bench extra)").URL
    assert eval(expr, names) == ast.literal_eval(gives)
