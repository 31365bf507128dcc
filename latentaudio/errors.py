"""The one exception type users are meant to see.

Anything raised as :class:`LatentAudioError` is a problem with the user's input or machine (a
missing file, an unreadable format, a package that is not installed). The CLI prints its message
as one line; every other exception is a bug and is reported as such.
"""


class LatentAudioError(Exception):
    """A user-facing error whose message says what went wrong and what to do about it."""


class AudioFileError(LatentAudioError):
    """An audio file is missing, empty, corrupt or in a format we cannot read or write."""


class MissingDependencyError(LatentAudioError):
    """A system or Python package that this feature needs is not installed."""


class SilentOutputError(LatentAudioError):
    """The model made silence from every seed it was allowed to try (evaluation keeps the
    silence instead: ``allow_silence=True``)."""
