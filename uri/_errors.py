"""The one exception of the package."""

from __future__ import annotations


class UriError(ValueError):
    """Text that RFC 3986 rejects, or a value that cannot go into a component.

    ``component`` names the part at fault (``scheme``, ``userinfo``, ``host``,
    ``port``, ``path``, ``query``, ``fragment``, ...), ``position`` is the offset
    of the first bad character in ``text`` (or -1 when not applicable), and
    ``reason`` says what is wrong.
    """

    def __init__(self, component: str, position: int, reason: str, text: str | None = None):
        self.component = component
        self.position = position
        self.reason = reason
        self.text = text
        where = f" at {position}" if position >= 0 else ""
        msg = f"invalid {component}{where}: {reason}"
        if text is not None:
            shown = text if len(text) <= 200 else text[:200] + "..."
            msg += f" in {shown!r}"
        super().__init__(msg)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.component, self.position, self.reason, self.text))
