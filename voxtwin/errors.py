"""Typed errors: the CLI prints any VoxtwinError as one line, without a traceback."""


class VoxtwinError(Exception):
    """Base class; the CLI prints these without a traceback."""


class AudioError(VoxtwinError):
    """Unreadable, empty, too short, silent or otherwise unusable audio."""


class AudioNotFoundError(AudioError):
    """The path does not exist or is not a file."""


class EmptyAudioError(AudioError):
    """The file is empty or decodes to zero samples."""


class AudioDecodeError(AudioError):
    """No decoder could read the bytes (truncated, corrupt or not audio)."""


class UnsupportedFormatError(AudioError):
    """The file's extension names no format voxtwin reads."""


class SilentAudioError(AudioError):
    """Every sample is (near) digital silence."""


class InvalidSamplesError(AudioError):
    """The decoded signal holds NaN or infinite samples."""


class AudioTooShortError(AudioError):
    """The audio is too short for the operation (a watermark, a conversion)."""


class AudioTooLongError(AudioError):
    """The file exceeds the size or duration limit set for untrusted input."""


class SpecMismatchError(VoxtwinError):
    """Features differ from what a model or profile was built with."""


class CheckpointError(VoxtwinError):
    """Missing file, bad hash, unknown format."""


class FormatVersionError(CheckpointError):
    """The artifact was written by a format version this voxtwin does not read."""


class UnknownNameError(VoxtwinError, LookupError):
    """A registry has no entry of that name."""
