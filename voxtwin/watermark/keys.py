"""Installation keys: the secret that signs this installation's watermark payloads.

Generated on first use (32 random bytes, hex, file mode 0600) at `$VOXTWIN_CONFIG_DIR/watermark.key`, or under
`$XDG_CONFIG_HOME/voxtwin/` (default `~/.config/voxtwin/`), unless a command is given `--key-file`. Keep it: it is
what lets you prove later that a clip came from your installation.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from voxtwin.errors import VoxtwinError

KEY_BYTES = 32
KEY_FILE_NAME = "watermark.key"


class KeyFileError(VoxtwinError):
    """An installation key file that cannot be read or is malformed."""


def config_dir() -> Path:
    if os.environ.get("VOXTWIN_CONFIG_DIR"):
        return Path(os.environ["VOXTWIN_CONFIG_DIR"])
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "voxtwin"


def read_key(path: str | os.PathLike) -> bytes:
    """A key file: 64 hex digits (whitespace ignored)."""
    path = Path(path)
    try:
        if path.stat().st_size > 1024:
            raise KeyFileError(f"{path}: not a voxtwin key file (too large)")
        text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except FileNotFoundError:
        raise KeyFileError(f"{path}: key file not found") from None
    except (UnicodeDecodeError, ValueError):
        raise KeyFileError(f"{path}: not a voxtwin key file (expected {2 * KEY_BYTES} hex digits)") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read key file ({exc.strerror})") from None
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"{path}: not a voxtwin key file (expected {2 * KEY_BYTES} hex digits)")
    return key


def installation_key(key_file: str | os.PathLike | None = None, *, create: bool = True) -> bytes | None:
    """The key from `key_file`, else this installation's key (created if missing and `create`), else None."""
    if key_file is not None:
        return read_key(key_file)
    path = config_dir() / KEY_FILE_NAME
    if path.exists():
        return read_key(path)
    if not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return read_key(path)
    with os.fdopen(fd, "w") as f:
        f.write(key.hex() + "\n")
    return key
