"""Every third-party module the packages import is declared in pyproject.toml (core or an extra), and the install
hints name the extra that really brings each optional module, so a fresh install never misses one."""

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

from voxtwin.extras import OPTIONAL_MODULES, install_hint

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("voxtwin", "voice", "detect")


def _name(requirement: str) -> str:
    return re.split(r"[=<>!~\[; ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _declared() -> tuple[set[str], dict[str, set[str]]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = {extra: {_name(r) for r in reqs if not r.startswith("voxtwin[")} for extra, reqs in project["optional-dependencies"].items()}
    return {_name(r) for r in project["dependencies"]}, extras


def _imported_modules() -> set[str]:
    modules = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Import):
                    modules |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - set(PACKAGES) - {"__future__"}


def test_every_imported_module_is_declared():
    core, extras = _declared()
    everything = core.union(*extras.values())
    installed = importlib.metadata.packages_distributions()
    missing = {}
    for module in sorted(_imported_modules()):
        distributions = {d.lower().replace("_", "-") for d in installed.get(module, [])} | {OPTIONAL_MODULES.get(module, (module,))[0]}
        if not distributions & everything:
            missing[module] = sorted(distributions)
    assert not missing, f"imported but not in pyproject.toml: {missing}"


def test_install_hints_name_the_extra_that_brings_the_module():
    core, extras = _declared()
    for module, (distribution, extra) in OPTIONAL_MODULES.items():
        assert distribution in extras[extra], (module, distribution, extra)
        assert f'.[{extra}]' in install_hint(module)
    assert install_hint("numpy") is None
