"""What `voxtwin voice models pull` can fetch. One entry per model: the hub repo and the files the backend reads,
a revision (a tag or commit that public sources pin; the commit it resolves to is recorded at the first pull),
the licence and whether it needs explicit acceptance, the download size and the languages.

Chatterbox (MIT, 2025) is not offered: chatterbox-tts 0.1.7 pins torch==2.6.0, torchaudio==2.6.0,
transformers==5.2.0 and numpy<2 on Python < 3.14, which cannot install beside voxtwin's torch 2.14.1.
"""

from __future__ import annotations

from dataclasses import dataclass

from voxtwin.errors import VoxtwinError

XTTS_LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh-cn", "ja", "hu", "ko", "hi")


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    backend: str  # the name in CONVERT_BACKENDS / SPEAK_BACKENDS
    task: str  # "speak" or "convert"
    repo_id: str
    revision: str
    files: tuple[str, ...]
    subfolder: str  # the folder under the pull that the backend reads as --model-dir
    licence: str
    licence_url: str
    permissive: bool
    size_mb: int
    languages: tuple[str, ...]  # ("*",) = any language (conversion does not read text)
    rank: int  # `auto` prefers the lowest rank among the pulled ones that speak the language
    summary: str


CATALOG: dict[str, CatalogEntry] = {
    entry.name: entry
    for entry in (
        CatalogEntry(
            name="xtts-v2",
            backend="xtts",
            task="speak",
            repo_id="coqui/XTTS-v2",
            revision="v2.0.2",
            files=("config.json", "model.pth", "vocab.json"),
            subfolder="",
            licence="CPML (Coqui Public Model License, non-commercial)",
            licence_url="https://coqui.ai/cpml",
            permissive=False,
            size_mb=1870,
            languages=XTTS_LANGUAGES,
            rank=0,
            summary="Coqui XTTS-v2: zero-shot multilingual TTS from a 6 s reference (17 languages)",
        ),
        CatalogEntry(
            name="openvoice-v2",
            backend="openvoice",
            task="convert",
            repo_id="myshell-ai/OpenVoiceV2",
            revision="main",
            files=("converter/config.json", "converter/checkpoint.pth"),
            subfolder="converter",
            licence="MIT",
            licence_url="https://huggingface.co/myshell-ai/OpenVoiceV2",
            permissive=True,
            size_mb=131,
            languages=("*",),
            rank=0,
            summary="OpenVoice v2 tone-colour converter: any-to-any voice conversion",
        ),
    )
}


class UnknownModelError(VoxtwinError):
    pass


def entry(name: str) -> CatalogEntry:
    if name not in CATALOG:
        raise UnknownModelError(f"no pretrained model {name!r}; choose one of {', '.join(CATALOG)} (see `voxtwin voice models list`)")
    return CATALOG[name]
