"""voxtwin: clone a voice and detect cloned voices, on one shared audio front-end."""

__version__ = "0.1.0"

from voxtwin.errors import VoxtwinError  # noqa: E402

__all__ = ["VoxtwinError", "__version__"]
