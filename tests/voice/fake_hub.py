"""A local stand-in for the Hugging Face Hub's file endpoints (HEAD/GET /REPO/resolve/REVISION/PATH, with Range),
so the pull path runs end to end without a network. Large files are served as LFS files are: their ETag is their
SHA-256. `cut_once` drops the connection part-way through the first GET of a file; `corrupt` serves bytes that
differ from the advertised SHA-256."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

LFS_MIN_BYTES = 1024


class FakeHub:
    def __init__(self) -> None:
        self.repos: dict[tuple[str, str], tuple[str, dict[str, bytes]]] = {}  # (repo, revision) -> (commit, files)
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range header)
        self.cut_once: set[str] = set()
        self.corrupt: set[str] = set()
        self._cut_done: set[str] = set()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, repo: str, revisions: tuple[str, ...], files: dict[str, bytes]) -> str:
        commit = hashlib.sha1(repo.encode() + b"".join(sorted(files.values()))).hexdigest()
        for revision in (*revisions, commit):
            self.repos[(repo, revision)] = (commit, files)
        return commit

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _lookup(self):
                parts = unquote(urlparse(self.path).path).strip("/").split("/")
                if "resolve" not in parts:
                    return None
                i = parts.index("resolve")
                repo, revision, filename = "/".join(parts[:i]), parts[i + 1], "/".join(parts[i + 2 :])
                if (repo, revision) not in hub.repos:
                    return ("RepoNotFound" if not any(r == repo for r, _ in hub.repos) else "RevisionNotFound"), None, None, None
                commit, files = hub.repos[(repo, revision)]
                if filename not in files:
                    return "EntryNotFound", commit, None, None
                return None, commit, filename, files[filename]

            def _headers(self, commit, filename, data, status=200, length=None, extra=None):
                self.send_response(status)
                self.send_header("X-Repo-Commit", commit)
                etag = hashlib.sha256(data).hexdigest() if len(data) >= LFS_MIN_BYTES else hashlib.sha1(data).hexdigest()
                if len(data) >= LFS_MIN_BYTES:
                    self.send_header("X-Linked-Etag", f'"{etag}"')
                    self.send_header("X-Linked-Size", str(len(data)))
                self.send_header("ETag", f'"{etag}"')
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(data) if length is None else length))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()

            def _error(self, code: str, commit) -> None:
                self.send_response(404)
                self.send_header("X-Error-Code", code)
                if commit:
                    self.send_header("X-Repo-Commit", commit)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_HEAD(self) -> None:
                hub.requests.append(("HEAD", self.path, self.headers.get("Range")))
                error, commit, filename, data = self._lookup() or ("RepoNotFound", None, None, None)
                if error:
                    return self._error(error, commit)
                self._headers(commit, filename, data)

            def do_GET(self) -> None:
                hub.requests.append(("GET", self.path, self.headers.get("Range")))
                error, commit, filename, data = self._lookup() or ("RepoNotFound", None, None, None)
                if error:
                    return self._error(error, commit)
                if filename in hub.corrupt:
                    data = bytes(b ^ 0xFF for b in data[:16]) + data[16:]
                start = 0
                if self.headers.get("Range"):
                    start = int(self.headers["Range"].split("=")[1].split("-")[0])
                    body = data[start:]
                    self._headers(commit, filename, data, status=206, length=len(body), extra={"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"})
                else:
                    body = data
                    self._headers(commit, filename, data)
                if filename in hub.cut_once and filename not in hub._cut_done and start == 0:
                    hub._cut_done.add(filename)
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)

        return Handler
