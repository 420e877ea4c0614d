"""The documented install works from any working directory, even one holding folders named like our packages.

With setuptools' default (strict) editable mode, a folder `voice/`, `detect/` or `voxtwin/` in the working
directory shadowed the installed package as a namespace package; the README's install uses the compat mode, which
puts the project root on sys.path, so the real packages win. This test fails under the default mode.
"""

import subprocess
import sys


def _run(args, cwd):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_folders_named_like_the_packages_do_not_shadow_them(tmp_path):
    for name in ("voice", "detect", "voxtwin"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "notes.txt").write_text("a user's own folder\n")
    result = _run(["-c", "import voice, detect, voxtwin; voice.enroll; detect.score; voxtwin.audio; print(voice.__file__)"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert str(tmp_path) not in result.stdout
    cli = _run(["-m", "voxtwin.cli", "--version"], tmp_path)
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.startswith("voxtwin ")
