"""Errors of the wire layers (the adapter maps what reaches users to backends.errors)."""

from __future__ import annotations


class PacketError(ValueError):
    """A frame or packet is malformed; the message names the layer and the problem.

    Stacks drop such input (counting it) and never let it escape to applications.
    """
