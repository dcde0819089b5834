"""DNSSEC signing keys: made, read and written in BIND's key-file format.

A key is a pair of files named as ``dnssec-keygen`` names them (``K<zone>+<alg>+<tag>``):
``.key`` holds the public DNSKEY record, ``.private`` the private key in BIND's
``Private-key-format: v1.3`` layout. Keys made by ``dnssec-keygen`` load here, and keys made
here load in BIND's tools. Two algorithms, those RFC 8624 §3.1 recommends for signing:
ECDSA P-256 with SHA-256 (13, RFC 6605) and Ed25519 (15, RFC 8080).

The cryptography is the ``cryptography`` package, an optional extra (``dnssec``); without
it, loading or making a key raises :class:`KeyFileError` saying so.

::

    key = generate_key(wire.name_from_text("example.test."), 13, ksk=True)
    basename = write_key(key, "/etc/dns/keys")       # .../Kexample.test.+013+12345
    key = load_key(basename)                          # .key, .private or neither
    rrsig_signature = key.sign(data)
"""

from __future__ import annotations

import base64
import os
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from . import wire
from .resolvconf import parse_decimal
from .wire import Name

ECDSAP256SHA256 = 13
ED25519 = 15
ALGORITHM_NAMES = {ECDSAP256SHA256: "ECDSAP256SHA256", ED25519: "ED25519"}
"""The signing algorithms supported, with the mnemonics BIND writes."""

FLAG_ZONE = 0x0100
FLAG_SEP = 0x0001
"""DNSKEY flags (RFC 4034 §2.1.1): a zone key; the secure entry point (a KSK)."""

MAX_KEY_FILE = 64 * 1024
"""Key files are a few hundred bytes; a larger one is not a key file."""


class KeyFileError(ValueError):
    """A key that cannot be used: ``str()`` says which file and why, in one line."""


def _crypto() -> Any:
    """The parts of ``cryptography`` used here, or :class:`KeyFileError` without it."""
    try:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils
    except ImportError:
        raise KeyFileError(
            "DNSSEC signing needs the 'cryptography' package: pip install 'mirage-py[dnssec]'"
        ) from None
    return hashes, ec, ed25519, utils


def key_tag(dnskey_rdata: bytes) -> int:
    """The key tag of a DNSKEY rdata (RFC 4034 Appendix B; algorithm 1 aside)."""
    total = 0
    for i, byte in enumerate(dnskey_rdata):
        total += byte << 8 if i % 2 == 0 else byte
    total += (total >> 16) & 0xFFFF
    return total & 0xFFFF


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A zone's private key: ``owner`` (the zone apex), ``algorithm`` (13 or 15), ``flags``
    (257 for a KSK or CSK, 256 for a ZSK), ``public`` (the DNSKEY's public key field),
    ``private`` (the ``cryptography`` key object), ``path`` (the file basename it was read
    from or written to, if any)."""

    owner: Name
    algorithm: int
    flags: int
    public: bytes
    private: Any
    path: str | None = None
    dnskey: bytes = field(init=False)
    """The DNSKEY rdata (RFC 4034 §2.2): flags, protocol 3, algorithm, public key."""
    tag: int = field(init=False)
    """The key tag (RFC 4034 Appendix B); kept, as every signature carries it."""

    def __post_init__(self) -> None:
        dnskey = struct.pack("!HBB", self.flags, 3, self.algorithm) + self.public
        object.__setattr__(self, "dnskey", dnskey)
        object.__setattr__(self, "tag", key_tag(dnskey))

    @property
    def ksk(self) -> bool:
        """Whether the SEP flag is set (a key-signing key, or a combined signing key)."""
        return bool(self.flags & FLAG_SEP)

    @property
    def basename(self) -> str:
        """``K<zone>+<alg>+<tag>``, as ``dnssec-keygen`` names its files."""
        return (
            f"K{wire.name_to_text(wire.name_lower(self.owner))}+{self.algorithm:03d}+{self.tag:05d}"
        )

    def sign(self, data: bytes) -> bytes:
        """The signature of ``data`` as an RRSIG carries it: ``r || s`` of 32 bytes each for
        ECDSA P-256 (RFC 6605 §4), the 64 bytes of RFC 8080 §3 for Ed25519."""
        hashes, ec, _ed25519, utils = _crypto()
        if self.algorithm == ED25519:
            signature: bytes = self.private.sign(data)
            return signature
        r, s = utils.decode_dss_signature(self.private.sign(data, ec.ECDSA(hashes.SHA256())))
        return int(r).to_bytes(32, "big") + int(s).to_bytes(32, "big")


def _private_from_bytes(algorithm: int, secret: bytes, where: str) -> tuple[Any, bytes]:
    """The private key object and the public key field for ``secret`` (the 32-byte
    private scalar of P-256, or the 32-byte Ed25519 seed)."""
    _hashes, ec, ed25519, _utils = _crypto()
    if len(secret) != 32:
        raise KeyFileError(f"{where}: the private key is {len(secret)} bytes, not 32")
    if algorithm == ED25519:
        private = ed25519.Ed25519PrivateKey.from_private_bytes(secret)
        return private, private.public_key().public_bytes_raw()
    value = int.from_bytes(secret, "big")
    try:
        private = ec.derive_private_key(value, ec.SECP256R1())
    except ValueError as exc:
        raise KeyFileError(f"{where}: not a P-256 private key ({exc})") from None
    numbers = private.public_key().public_numbers()
    return private, numbers.x.to_bytes(32, "big") + numbers.y.to_bytes(32, "big")


def generate_key(owner: Name, algorithm: int = ECDSAP256SHA256, *, ksk: bool = False) -> SigningKey:
    """A new key for the zone ``owner``: a KSK (flags 257) when ``ksk``, else a ZSK (256)."""
    if algorithm not in ALGORITHM_NAMES:
        raise KeyFileError(f"algorithm {algorithm}: only 13 (ECDSAP256SHA256) and 15 (ED25519)")
    _hashes, ec, ed25519, _utils = _crypto()
    if algorithm == ED25519:
        secret = ed25519.Ed25519PrivateKey.generate().private_bytes_raw()
    else:
        value = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
        secret = int(value).to_bytes(32, "big")
    private, public = _private_from_bytes(algorithm, secret, "<new key>")
    flags = FLAG_ZONE | (FLAG_SEP if ksk else 0)
    return SigningKey(owner, algorithm, flags, public, private)


def _secret_of(key: SigningKey) -> bytes:
    if key.algorithm == ED25519:
        raw: bytes = key.private.private_bytes_raw()
        return raw
    return int(key.private.private_numbers().private_value).to_bytes(32, "big")


def write_key(key: SigningKey, directory: str = ".", *, now: float | None = None) -> str:
    """Write ``key`` as ``directory/K<zone>+<alg>+<tag>.key`` and ``.private`` (mode 0600)
    and return that basename with its directory. ``OSError`` when they cannot be written;
    existing files are never overwritten (``FileExistsError``)."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() if now is None else now))
    base = os.path.join(directory, key.basename)
    zone = wire.name_to_text(key.owner)
    kind = "key-signing" if key.ksk else "zone-signing"
    public = base64.b64encode(key.public).decode()
    algorithm = f"{key.algorithm} ({ALGORITHM_NAMES[key.algorithm]})"
    secret = base64.b64encode(_secret_of(key)).decode()
    private_text = (
        "Private-key-format: v1.3\n"
        f"Algorithm: {algorithm}\n"
        f"PrivateKey: {secret}\n"
        f"Created: {stamp}\nPublish: {stamp}\nActivate: {stamp}\n"
    )
    fd = os.open(base + ".private", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(private_text)
    with open(base + ".key", "x", encoding="ascii") as f:
        f.write(
            f"; This is a {kind} key, keyid {key.tag}, for {zone}\n"
            f"; Created: {stamp}\n; Publish: {stamp}\n; Activate: {stamp}\n"
            f"{zone} IN DNSKEY {key.flags} 3 {key.algorithm} {public}\n"
        )
    return base


def _read_text(path: str) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_KEY_FILE + 1)
    except OSError as exc:
        raise KeyFileError(f"{path}: {exc.strerror or exc}") from None
    if len(data) > MAX_KEY_FILE:
        raise KeyFileError(f"{path}: larger than {MAX_KEY_FILE} bytes: not a key file")
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise KeyFileError(f"{path}: not ASCII text: not a key file") from None


def _parse_public(path: str) -> tuple[Name, int, int, bytes]:
    """``(owner, flags, algorithm, public key)`` from a ``.key`` file's DNSKEY record."""
    for line in _read_text(path).splitlines():
        words = line.split(";", 1)[0].replace("(", " ").replace(")", " ").split()
        if not words:
            continue
        upper = [w.upper() for w in words]
        if "DNSKEY" not in upper:
            raise KeyFileError(f"{path}: not a DNSKEY record: {line.strip()[:60]}")
        at = upper.index("DNSKEY")
        fields = words[at + 1 :]
        if len(fields) < 4:
            raise KeyFileError(f"{path}: the DNSKEY record has {len(fields)} fields, not 4")
        try:
            owner = wire.name_from_text(words[0] if words[0].endswith(".") else words[0] + ".")
            public = base64.b64decode("".join(fields[3:]), validate=True)
        except ValueError as exc:
            raise KeyFileError(f"{path}: {exc}") from None
        flags = parse_decimal(fields[0], 0xFFFF)
        protocol = parse_decimal(fields[1], 255)
        algorithm = parse_decimal(fields[2], 255)
        if flags is None or protocol != 3 or algorithm is None:
            raise KeyFileError(f"{path}: bad DNSKEY flags, protocol or algorithm")
        return owner, flags, algorithm, public
    raise KeyFileError(f"{path}: no DNSKEY record")


def _parse_private(path: str) -> tuple[int, bytes]:
    """``(algorithm, private key bytes)`` from a ``.private`` file."""
    fields: dict[str, str] = {}
    for line in _read_text(path).splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip().lower()] = value.strip()
    if not fields.get("private-key-format", "").startswith("v1."):
        raise KeyFileError(f"{path}: no 'Private-key-format: v1.x' line: not a BIND private key")
    algorithm = parse_decimal(fields.get("algorithm", "").split(" ", 1)[0], 255)
    if algorithm is None:
        raise KeyFileError(f"{path}: no readable Algorithm line")
    if "privatekey" not in fields:
        raise KeyFileError(f"{path}: no PrivateKey line (algorithm {algorithm} is not supported)")
    try:
        return algorithm, base64.b64decode(fields["privatekey"], validate=True)
    except ValueError:
        raise KeyFileError(f"{path}: PrivateKey is not base64") from None


def load_key(path: str) -> SigningKey:
    """The key whose files are ``path`` (a basename, or either file's name): the public
    and private halves are read and checked to belong together. :class:`KeyFileError`
    naming the file and the problem otherwise."""
    base = path
    for suffix in (".key", ".private"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    owner, flags, algorithm, public = _parse_public(base + ".key")
    private_algorithm, secret = _parse_private(base + ".private")
    if algorithm not in ALGORITHM_NAMES:
        raise KeyFileError(
            f"{base}.key: algorithm {algorithm} cannot sign here (13 ECDSAP256SHA256 or 15 ED25519)"
        )
    if private_algorithm != algorithm:
        raise KeyFileError(
            f"{base}.private: algorithm {private_algorithm}, the .key file says {algorithm}"
        )
    if not flags & FLAG_ZONE:
        raise KeyFileError(f"{base}.key: flags {flags} lack the zone key bit (256)")
    private, derived = _private_from_bytes(algorithm, secret, base + ".private")
    if derived != public:
        raise KeyFileError(f"{base}.private: the private key does not match {base}.key")
    return SigningKey(owner, algorithm, flags, public, private, base)


def algorithm_from_text(text: str) -> int:
    """13 or 15 from a number or a mnemonic (``ECDSAP256SHA256``, ``ED25519``, as BIND's
    ``-a`` takes them); ``ValueError`` for anything else."""
    for number, name in ALGORITHM_NAMES.items():
        if text.upper() == name or text == str(number):
            return number
    raise ValueError(f"algorithm {text!r}: use ECDSAP256SHA256 (13) or ED25519 (15)")


__all__ = [
    "ALGORITHM_NAMES",
    "ECDSAP256SHA256",
    "ED25519",
    "FLAG_SEP",
    "FLAG_ZONE",
    "KeyFileError",
    "SigningKey",
    "algorithm_from_text",
    "generate_key",
    "key_tag",
    "load_key",
    "write_key",
]
