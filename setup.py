"""The one compiled part: WebSocket masking in C (cohttp/ws/_mask.c), optional.

Everything else is in pyproject.toml. ``optional=True``: where no C compiler or no Python
headers are found, the build warns and goes on, and cohttp.ws.protocol uses its pure-Python
masking instead (same bytes, ~20x slower on a 64 KiB frame).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("cohttp.ws._mask", ["cohttp/ws/_mask.c"], optional=True)])
