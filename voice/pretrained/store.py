"""The local store of pulled models: `$VOXTWIN_HOME/models/NAME/` (default: platformdirs' user data folder).

`pull` downloads each catalog file with huggingface_hub (its `.incomplete` files make an interrupted pull resume
where it stopped), checks the SHA-256 of large files against the hub's LFS ETag, and writes `voxtwin-lock.json`:
the commit the revision resolved to and every file's SHA-256 and size. From then on the lock is the truth:
`verify` re-hashes everything, and loading a backend re-hashes any file whose size or mtime changed since the
last check. Nothing here runs unless a user asks for it: the rest of voxtwin never touches the network.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from voice.pretrained.catalog import CatalogEntry, entry
from voxtwin.errors import CheckpointError, VoxtwinError

LOCK = "voxtwin-lock.json"
DEFAULT_ENDPOINT = "https://huggingface.co"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class PullError(VoxtwinError):
    """A pull that could not finish: no network, unknown revision, refused licence."""


class LicenceNotAccepted(PullError):
    pass


def home() -> Path:
    if os.environ.get("VOXTWIN_HOME"):
        return Path(os.environ["VOXTWIN_HOME"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("voxtwin", appauthor=False))


def model_folder(name: str) -> Path:
    return home() / "models" / name


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "").rstrip("/") or DEFAULT_ENDPOINT


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Lock:
    name: str
    repo_id: str
    revision: str
    commit: str | None
    files: dict  # relative path -> {"sha256", "size", "mtime_ns"}
    licence: str
    licence_accepted: bool
    pulled_at: str

    @classmethod
    def read(cls, folder: Path) -> Lock | None:
        path = folder / LOCK
        if not path.is_file():
            return None
        try:
            return cls(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise CheckpointError(f"{path}: unreadable lock file ({exc}); run `voxtwin voice models rm` and pull again") from None

    def write(self, folder: Path) -> None:
        tmp = folder / f".{LOCK}.part"
        tmp.write_text(json.dumps(self.__dict__, indent=1))
        os.replace(tmp, folder / LOCK)


def is_pulled(name: str) -> bool:
    folder = model_folder(name)
    lock = Lock.read(folder) if folder.is_dir() else None
    return lock is not None and all((folder / f).is_file() for f in lock.files)


def _unreachable(host: str, exc: BaseException, item: CatalogEntry) -> PullError:
    return PullError(
        f"cannot reach {host} ({exc.__class__.__name__}); download {item.repo_id} ({', '.join(item.files)}) on a machine "
        f"with internet and run the backend with --model-dir DIR instead"
    )


def _download(item: CatalogEntry, filename: str, revision: str, folder: Path, *, progress: bool):
    """(local path, commit hash, hub ETag) of one file, resuming a previous partial download."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    base = endpoint()
    host = urlparse(base).netloc or base
    url = hf_hub_url(item.repo_id, filename, revision=revision, endpoint=base)
    bars_were_off = are_progress_bars_disabled()
    if not progress:
        disable_progress_bars()
    try:
        meta = get_hf_file_metadata(url)
        path = hf_hub_download(item.repo_id, filename, revision=revision, local_dir=folder, endpoint=base)
    except RevisionNotFoundError:
        raise PullError(f"{item.repo_id} has no revision {revision!r} on {host}") from None
    except EntryNotFoundError:
        raise PullError(f"{item.repo_id}@{revision} has no file {filename} on {host}") from None
    except RepositoryNotFoundError:
        raise PullError(f"{host} has no repository {item.repo_id} (or it needs a login)") from None
    except OfflineModeIsEnabled as exc:
        raise PullError(f"HF_HUB_OFFLINE is set, so {host} is not contacted; unset it to pull, or use --model-dir DIR ({exc.__class__.__name__})") from None
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as exc:
        raise _unreachable(host, exc, item) from None
    except Exception as exc:  # httpx transport errors and the like: still "could not reach the host"
        if exc.__class__.__module__.startswith(("httpx", "httpcore", "huggingface_hub")):
            raise _unreachable(host, exc, item) from None
        raise
    finally:
        if not progress and not bars_were_off:
            enable_progress_bars()
    return Path(path), meta.commit_hash, (meta.etag or "").strip('"')


def pull(name: str, *, revision: str | None = None, accept_licence: bool = False, confirm=None, progress: bool = True) -> Lock:
    """Download NAME's files into the store and check them; returns the lock.

    Args:
        revision: Hub tag, branch or commit; default: the catalog's pin.
        accept_licence: Accept a non-permissive licence without asking.
        confirm: Called with a question when the licence needs accepting and `accept_licence` is False;
            returns True to go on. None: refuse.
    """
    item = entry(name)
    revision = revision or item.revision
    if not item.permissive and not accept_licence:
        question = f"{item.name} is under the {item.licence} ({item.licence_url}). Accept it?"
        if confirm is None or not confirm(question):
            raise LicenceNotAccepted(f"{item.name} is under the {item.licence}: pass --accept-license to accept it ({item.licence_url})")
    folder = model_folder(name)
    folder.mkdir(parents=True, exist_ok=True)
    previous = Lock.read(folder)
    files, commit = {}, None
    for filename in item.files:
        path, file_commit, etag = _download(item, filename, revision, folder, progress=progress)
        commit = commit or file_commit
        digest = sha256_of(path)
        known = previous.files.get(filename) if previous and previous.revision == revision and previous.commit == file_commit else None
        expected = known["sha256"] if known else (etag if _SHA256.match(etag or "") else None)
        if expected and digest != expected:
            path.unlink()
            raise CheckpointError(f"{path}: SHA-256 {digest[:12]}... does not match the expected {expected[:12]}...; the file was deleted, pull again")
        stat = path.stat()
        files[filename] = {"sha256": digest, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    lock = Lock(
        name=name, repo_id=item.repo_id, revision=revision, commit=commit, files=files, licence=item.licence,
        licence_accepted=True,  # permissive, or accepted above
        pulled_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    )
    lock.write(folder)
    return lock


def verify(name: str, *, full: bool = True) -> list[str]:
    """Files of a pulled model that are missing or whose SHA-256 differs from the lock (empty = all good).

    With full=False only files whose size or mtime changed since the last check are hashed again."""
    entry(name)
    folder = model_folder(name)
    lock = Lock.read(folder) if folder.is_dir() else None
    if lock is None:
        raise PullError(f"{name} is not pulled: run `voxtwin voice models pull {name}`")
    bad, changed = [], False
    for filename, recorded in lock.files.items():
        path = folder / filename
        if not path.is_file():
            bad.append(f"{filename}: missing")
            continue
        stat = path.stat()
        if not full and stat.st_size == recorded["size"] and stat.st_mtime_ns == recorded.get("mtime_ns"):
            continue
        if sha256_of(path) != recorded["sha256"]:
            bad.append(f"{filename}: SHA-256 differs from the pull")
        elif stat.st_mtime_ns != recorded.get("mtime_ns"):
            recorded["mtime_ns"], changed = stat.st_mtime_ns, True
    if changed and not bad:
        lock.write(folder)
    return bad


def pulled_model_dir(name: str) -> Path:
    """The folder a backend reads for a pulled model, after checking it against its lock."""
    bad = verify(name, full=False)
    if bad:
        raise CheckpointError(f"pulled model {name} fails its check ({'; '.join(bad)}): run `voxtwin voice models pull {name}` again")
    return model_folder(name) / entry(name).subfolder


def remove(name: str) -> bool:
    entry(name)
    folder = model_folder(name)
    if not folder.exists():
        return False
    shutil.rmtree(folder)
    return True
