"""`voxtwin voice ...`: voice-cloning commands."""

import typer

app = typer.Typer(no_args_is_help=True, help="Clone a consenting speaker's voice: enroll, convert, speak.")


@app.callback()
def _voice() -> None:
    """Voice cloning commands."""
