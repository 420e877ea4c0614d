"""The exit codes of every `voxtwin` command, in one place so the CLI, the docs and the tests agree."""

OK = 0
FLAGGED = 1  # detect score / watermark: at least one file flagged synthetic (or marked)
INPUT_ERROR = 2  # bad input or usage: one `error:` line on stderr
SOME_UNREADABLE = 3  # detect score: some inputs could not be read and none of the others was flagged
INTERNAL_ERROR = 4  # a bug in voxtwin: one line on stderr; --debug or VOXTWIN_DEBUG=1 shows the traceback
INTERRUPTED = 130  # Ctrl-C
