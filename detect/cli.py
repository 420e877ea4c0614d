"""`voxtwin detect ...`: countermeasure commands."""

import typer

app = typer.Typer(no_args_is_help=True, help="Detect synthetic or converted speech; train and benchmark countermeasures.")


@app.callback()
def _detect() -> None:
    """Synthetic-speech detection commands."""
