"""The 64 bits a voxtwin watermark carries: 32 data bits, a CRC-8 and a 24-bit MAC.

Data bits (most significant first): format version (3), key id (12), time bucket (16: days since 2025-01-01),
consent flag (1: set when the voice profile holds a verified consent recording, clear for `--no-consent`).
The CRC lets anyone see whether the payload was read back intact; the MAC (HMAC-SHA256 with the installation
key, truncated to 24 bits) lets only the key's owner prove the clip came from their installation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import zlib
from dataclasses import dataclass

import numpy as np

FORMAT_VERSION = 1
EPOCH = dt.date(2025, 1, 1)
_FIELDS = (("version", 3), ("key_id", 12), ("time_bucket", 16), ("consent", 1))
DATA_BITS = sum(width for _, width in _FIELDS)
CRC_BITS = 8
MAC_BITS = 24


def key_id(key: bytes) -> int:
    """12-bit public identifier of an installation key (so its owner can recognise their clips)."""
    return int.from_bytes(hashlib.sha256(b"voxtwin-key-id" + key).digest()[:2], "big") >> 4


@dataclass(frozen=True)
class Payload:
    version: int
    key_id: int
    time_bucket: int
    consent: bool

    N_BITS = DATA_BITS + CRC_BITS + MAC_BITS

    @classmethod
    def now(cls, key: bytes, *, consent: bool, today: dt.date | None = None) -> Payload:
        days = ((today or dt.date.today()) - EPOCH).days
        return cls(version=FORMAT_VERSION, key_id=key_id(key), time_bucket=max(0, days) % (1 << 16), consent=consent)

    @property
    def date(self) -> str:
        return (EPOCH + dt.timedelta(days=self.time_bucket)).isoformat()

    def to_dict(self) -> dict:
        return {"version": self.version, "key_id": f"{self.key_id:03x}", "date": self.date, "consent": self.consent}

    def data_bytes(self) -> bytes:
        value = 0
        for name, width in _FIELDS:
            value = (value << width) | (int(getattr(self, name)) & ((1 << width) - 1))
        return value.to_bytes(DATA_BITS // 8, "big")


def _mac(data: bytes, key: bytes) -> int:
    return int.from_bytes(hmac.new(key, b"voxtwin-watermark" + data, hashlib.sha256).digest()[: MAC_BITS // 8], "big")


def _bits(value: int, width: int) -> list[int]:
    return [(value >> (width - 1 - i)) & 1 for i in range(width)]


def _value(bits: np.ndarray) -> int:
    return int("".join(str(int(b)) for b in bits), 2) if len(bits) else 0


def pack(payload: Payload, key: bytes) -> np.ndarray:
    """Payload + CRC + MAC as Payload.N_BITS bits (0/1)."""
    data = payload.data_bytes()
    value = int.from_bytes(data, "big")
    return np.asarray(_bits(value, DATA_BITS) + _bits(zlib.crc32(data) & 0xFF, CRC_BITS) + _bits(_mac(data, key), MAC_BITS), dtype=np.int64)


def unpack(bits: np.ndarray, key: bytes | None) -> tuple[Payload, bool, bool | None]:
    """Bits -> (payload, CRC intact, MAC verifies with `key` or None when no key is given)."""
    bits = np.asarray(bits)
    value = _value(bits[:DATA_BITS])
    fields, shift = {}, DATA_BITS
    for name, width in _FIELDS:
        shift -= width
        fields[name] = (value >> shift) & ((1 << width) - 1)
    payload = Payload(version=fields["version"], key_id=fields["key_id"], time_bucket=fields["time_bucket"], consent=bool(fields["consent"]))
    data = payload.data_bytes()
    crc_ok = _value(bits[DATA_BITS : DATA_BITS + CRC_BITS]) == (zlib.crc32(data) & 0xFF)
    verified = None if key is None else hmac.compare_digest(_value(bits[DATA_BITS + CRC_BITS :]).to_bytes(3, "big"), _mac(data, key).to_bytes(3, "big"))
    return payload, crc_ok, verified
