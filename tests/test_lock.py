"""requirements.lock: pins what pyproject.toml asks for, and is what this suite runs on."""
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

BASE_DIR = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((BASE_DIR / "pyproject.toml").read_text(encoding="utf-8"))["project"]
REQUIREMENTS = [Requirement(line) for line in
                PROJECT["dependencies"] + PROJECT["optional-dependencies"]["test"]]
PINNED = {
    canonicalize_name(name): version
    for name, version in re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)",
                                    (BASE_DIR / "requirements.lock").read_text(encoding="utf-8"),
                                    flags=re.M)
}


@pytest.mark.parametrize("requirement", REQUIREMENTS, ids=str)
def test_the_lock_pins_each_dependency_within_its_bounds(requirement):
    name = canonicalize_name(requirement.name)

    assert name in PINNED, f"{name} is not in requirements.lock: run `make lock`"
    assert requirement.specifier.contains(PINNED[name], prereleases=True), (
        f"requirements.lock pins {name}=={PINNED[name]}, outside {requirement.specifier}"
    )


def test_each_dependency_has_a_lower_bound():
    assert [str(r) for r in REQUIREMENTS if not any(s.operator == ">=" for s in r.specifier)] == []


@pytest.mark.parametrize(("name", "version"), sorted(PINNED.items()))
def test_the_suite_runs_on_the_locked_versions(name, version):
    assert metadata.version(name) == version, "reinstall: `make install`"
