"""The web API and page of `voxtwin serve`, on the same Detector the CLI uses.

    POST /v1/score        multipart field `file` (+ optional `hop_s`); `?plot=1` returns the --plot PNG instead
    POST /v1/watermark    multipart field `file`
    GET  /v1/models       shipped detectors and the one loaded
    GET  /healthz         liveness and queue
    GET  /                the page;  GET /model-card: the detector's model card (Markdown)

Uploads are held in memory (never more than the upload limit: the multipart parser is told not to spool them to
disk) and decoded from there; the only file written, a `?plot=1` image, goes to a private temporary folder (mode
0700) and is deleted once sent; the folder is removed at shutdown. A client's file name is only ever a label in the
reply, never a path.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import shutil
import tempfile
import uuid
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartParser

from detect.detector import MAX_HOP_S, MIN_HOP_S, SAMPLE_RATE, SHIPPED, Detector
from detect.service.body_limit import BodyLimit
from detect.service.scoring_queue import QueueFull, ScoringQueue, ScoringTimeout
from detect.service.settings import ServiceSettings
from voxtwin import __version__, audio
from voxtwin.errors import VoxtwinError
from voxtwin.freed_memory import keep_freed_memory

log = logging.getLogger(__name__)
API_VERSION = "v1"
MODEL_CARD = Path(__file__).resolve().parents[1] / "MODEL_CARD.md"


def _folded(message: object) -> str:
    return " ".join(str(message).split())


def _error(status: int, message: object, headers: dict | None = None, *, label: str | None = None) -> JSONResponse:
    text = _folded(message)
    if label is not None:
        text = text.replace("<bytes>", label)  # voxtwin.audio names in-memory input <bytes>; say which upload
    return JSONResponse({"error": text}, status_code=status, headers=headers)


def _label(upload: UploadFile) -> str:
    """The client's file name as a label only: its last component, printable characters, at most 200."""
    name = (upload.filename or "upload").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable())[:200]
    return name or "upload"


def _shipped_models() -> list[dict]:
    out = []
    for name, path in sorted(SHIPPED.items()):
        meta = json.loads(Path(path).with_suffix(".json").read_text())
        out.append({"name": name, "model": meta.get("name"), "version": meta.get("scoring", {}).get("version")})
    return out


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The app; the detector loads once, at startup (one per worker process)."""
    settings = settings or ServiceSettings()
    state: dict = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        private = Path(tempfile.mkdtemp(prefix="voxtwin-serve-"))  # mode 0700: this user only
        MultiPartParser.spool_max_size = settings.max_upload_bytes + 1  # uploads stay in memory, never spooled to disk
        state["private"] = app.state.private_dir = private
        state["detector"] = Detector.load(settings.model, device=settings.device, precision=settings.precision, synthetic_prior=settings.synthetic_prior)
        state["queue"] = ScoringQueue(waiting_limit=settings.queue_size, timeout_s=settings.request_timeout_s)
        try:
            yield
        finally:
            shutil.rmtree(private, ignore_errors=True)

    app = FastAPI(title="voxtwin", version=__version__, lifespan=lifespan, description="Is this voice message synthetic? The `voxtwin detect` API.")
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: {e.get('msg')}" for e in exc.errors())
        return _error(400, problems or "bad request")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, exc.detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return _error(500, f"internal error ({exc.__class__.__name__})")

    async def _queued(work, label: str):
        try:
            return await state["queue"].run(work)
        except QueueFull:
            return _error(503, "the service is busy; try again shortly", headers={"Retry-After": str(settings.retry_after_s)})
        except ScoringTimeout:
            return _error(504, f"scoring took longer than the {settings.request_timeout_s:g} s limit")
        except VoxtwinError as exc:  # unreadable audio, or longer than the duration limit (size is BodyLimit's 413)
            return _error(422, exc, label=label)

    async def _read(file: UploadFile | None) -> tuple[str, bytes] | JSONResponse:
        if file is None:
            return _error(400, "no file: send the audio as multipart/form-data field `file`")
        data = await file.read()
        await file.close()
        return _label(file), data

    @app.post(f"/{API_VERSION}/score", summary="Score one voice message")
    async def score(file: UploadFile | None = File(None), hop_s: float | None = Form(None), plot: bool = Query(False)):
        """Returns exactly the object `voxtwin detect score --json` prints for one file (or, with `?plot=1`, its
        --plot PNG). 400: no file or a bad hop_s; 413: over the upload limit; 422: not readable audio, or longer
        than the duration limit; 503: busy (Retry-After); 504: over the time limit."""
        read = await _read(file)
        if isinstance(read, JSONResponse):
            return read
        label, data = read
        detector: Detector = state["detector"]
        if hop_s is not None:
            if not MIN_HOP_S <= hop_s <= MAX_HOP_S:
                return _error(400, f"hop_s must be between {MIN_HOP_S} and {MAX_HOP_S} seconds, got {hop_s:g}")
            detector = copy.copy(detector)
            detector.hop = int(hop_s * SAMPLE_RATE)

        def work():
            result = detector.score_file(data, label=label, max_duration_s=settings.max_duration_s, raise_errors=True)
            return result, (_plot_png(result, data, state["private"]) if plot else None)

        outcome = await _queued(work, label)
        if isinstance(outcome, JSONResponse):
            return outcome
        result, png = outcome
        return Response(png, media_type="image/png") if plot else JSONResponse(result.to_dict())

    @app.post(f"/{API_VERSION}/watermark", summary="Read voxtwin's watermark")
    async def watermark(file: UploadFile | None = File(None)):
        """The object `voxtwin detect watermark --json` prints for one file (no installation key on the server, so
        `verified` is null)."""
        from voxtwin.watermark import detect_watermark_stream

        read = await _read(file)
        if isinstance(read, JSONResponse):
            return read
        label, data = read
        outcome = await _queued(lambda: detect_watermark_stream(audio.iter_blocks(data), key=None).to_dict(), label)
        return outcome if isinstance(outcome, JSONResponse) else JSONResponse({"path": label, **outcome, "error": None})

    @app.get(f"/{API_VERSION}/models", summary="Shipped detectors and the loaded one")
    async def models():
        return {"loaded": state["detector"].name, "synthetic_prior": state["detector"].calibration.synthetic_prior, "shipped": _shipped_models(), "model_card": "/model-card"}

    @app.get("/healthz", summary="Liveness, model and queue")
    async def healthz():
        queue: ScoringQueue = state["queue"]
        return {"status": "ok", "model": state["detector"].name, "running": queue.running, "waiting": queue.waiting, "queue_size": queue.waiting_limit}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page():
        limits = {"max_upload_mb": settings.max_upload_mb, "max_duration_s": settings.max_duration_s, "synthetic_prior": state["detector"].calibration.synthetic_prior}
        html = resources.files("detect.service").joinpath("page.html").read_text(encoding="utf-8")
        return HTMLResponse(html.replace("__LIMITS__", json.dumps(limits)))

    @app.get("/model-card", response_class=PlainTextResponse, summary="The detector's model card (Markdown)")
    async def model_card():
        return PlainTextResponse(MODEL_CARD.read_text(encoding="utf-8"), media_type="text/markdown; charset=utf-8")

    return app


def _plot_png(result, data: bytes, private: Path) -> bytes:
    from detect.report import plot_result

    wav, rate = audio.load(data)
    out = private / f"{uuid.uuid4().hex}.png"
    try:
        plot_result(result, wav, rate, out)
        return out.read_bytes()
    finally:
        out.unlink(missing_ok=True)


def app_from_environment() -> FastAPI:
    """Factory for the worker processes `voxtwin serve --workers N` starts (settings come in the environment)."""
    keep_freed_memory()  # spawned, so not inherited from the command: set as `voxtwin` sets it (voxtwin/freed_memory.py)
    return create_app(ServiceSettings.from_env())
