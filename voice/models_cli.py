"""`voxtwin voice models list|pull|verify|rm`: pretrained cloning backends, fetched only when asked."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from voxtwin import exit_codes

app = typer.Typer(no_args_is_help=True, help="Pretrained cloning backends: list, pull (from the Hugging Face Hub), verify, rm.")


@app.callback()
def _models() -> None:
    """Pretrained cloning backends."""


BUILT_IN = [
    # name, task, backend, licence, size_mb, summary
    ("vox-vc", "convert, speak", "vox-vc", "MIT (voxtwin; HiFi-GAN MIT, Whisper MIT, hibari-tts Apache-2.0)", 14,
     "trained converter: Whisper content + F0 + d-vector -> mel (-> mel refiner, convert) -> HiFi-GAN; speak: hibari's voice read, then converted"),
    ("knn-world", "convert", "knn-world", "MIT (voxtwin)", 0, "kNN matching of WORLD envelopes against the reference"),
    ("piper-knn", "speak", "piper-knn", "GPL-3.0 (Piper runtime), voice CC0", 63, "Piper reads, knn-world converts"),
]


def model_rows() -> list[dict]:
    """The pullable catalog, then the built-in backends (always present: they ship in the packages)."""
    from voice.pretrained.catalog import CATALOG
    from voice.pretrained.store import Lock, is_pulled, model_folder

    rows = []
    for item in CATALOG.values():
        present = is_pulled(item.name)
        lock = Lock.read(model_folder(item.name)) if present else None
        rows.append({
            "name": item.name, "task": item.task, "backend": item.backend, "repo": item.repo_id,
            "revision": lock.revision if lock else item.revision, "commit": lock.commit if lock else None,
            "licence": item.licence, "permissive": item.permissive, "size_mb": item.size_mb,
            "languages": list(item.languages), "present": present, "path": str(model_folder(item.name)) if present else None,
            "summary": item.summary, "source": "hub",
        })
    from voice.converter.weights import SHIPPED

    for name, task, backend, licence, size_mb, summary in BUILT_IN:
        rows.append({
            "name": name, "task": task, "backend": backend, "repo": None, "revision": None, "commit": None,
            "licence": licence, "permissive": True, "size_mb": size_mb, "languages": ["*"] if task == "convert" else ["en"] if task == "speak" else ["*", "en"],
            "present": SHIPPED.is_file() if name == "vox-vc" else True, "path": None, "summary": summary, "source": "built in",
        })
    return rows


@app.command("list")
def list_command(json_out: bool = typer.Option(False, "--json", help="Print JSON: one object per model.")) -> None:
    """Every backend: the pullable ones (task, licence, size, languages, pulled here or not) and the built-in ones."""
    from rich.table import Table

    from voxtwin.console import emit_json, out_console

    rows = model_rows()
    if json_out:
        emit_json(rows)
        return
    table = Table("name", "task", "licence", "size", "languages", "present")
    for r in rows:
        languages = {("*",): "any", ("*", "en"): "any (convert), en (speak)"}.get(tuple(r["languages"]), f"{len(r['languages'])}: {' '.join(r['languages'])}")
        present = "built in" if r["source"] == "built in" else ("pulled" if r["present"] else "no")
        table.add_row(r["name"], f"{r['task']} ({r['backend']})", r["licence"], f"{r['size_mb']} MB", languages, present)
    out_console().print(table)


@app.command()
def pull(
    name: str = typer.Argument(..., help="A name from `voxtwin voice models list`."),
    revision: Optional[str] = typer.Option(None, "--revision", help="Hub tag, branch or commit (default: the pinned one)."),
    accept_license: bool = typer.Option(False, "--accept-license", help="Accept a non-permissive model licence without being asked (for scripts)."),
) -> None:
    """Download a pretrained backend from the Hugging Face Hub (HF_ENDPOINT overrides the host), check it, record its hashes."""
    from voice.pretrained.store import model_folder
    from voice.pretrained.store import pull as pull_model

    confirm = (lambda question: typer.confirm(question, default=False, err=True)) if sys.stdin.isatty() else None
    lock = pull_model(name, revision=revision, accept_licence=accept_license, confirm=confirm, progress=True)
    total_mb = sum(f["size"] for f in lock.files.values()) / 1e6
    typer.echo(f"pulled {name} ({lock.repo_id}@{lock.revision}, commit {(lock.commit or 'unknown')[:12]}, {total_mb:.1f} MB) into {model_folder(name)}")


@app.command()
def verify(name: str = typer.Argument(..., help="A pulled model.")) -> None:
    """Re-hash every file of a pulled model against the SHA-256 recorded when it was pulled."""
    from voice.pretrained.store import verify as verify_model

    bad = verify_model(name, full=True)
    if bad:
        for line in bad:
            typer.echo(f"error: {name}: {line}", err=True)
        raise typer.Exit(exit_codes.INPUT_ERROR)
    typer.echo(f"{name}: every file matches its SHA-256")


@app.command("rm")
def remove(name: str = typer.Argument(..., help="A pulled model.")) -> None:
    """Delete a pulled model's files."""
    from voice.pretrained.store import remove as remove_model

    typer.echo(f"removed {name}" if remove_model(name) else f"{name} was not pulled; nothing to remove")
