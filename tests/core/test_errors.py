"""The error tree drawn in core/errors.py's docstring names every error the system defines."""

from __future__ import annotations

import importlib
import pkgutil

import core.errors
from core.errors import TierwiseError

PACKAGES = ("agents", "api", "cli", "core", "evals", "graphs", "tools")


def _every_module() -> None:
    for name in PACKAGES:
        package = importlib.import_module(name)
        for found in pkgutil.walk_packages(package.__path__, f"{name}."):
            if ".migrations." not in found.name:  # revision scripts, read by Alembic alone
                importlib.import_module(found.name)


def _subclasses(cls: type) -> set[type]:
    return {sub for direct in cls.__subclasses__() for sub in {direct, *_subclasses(direct)}}


def test_the_docstring_names_every_error_and_where_it_lives() -> None:
    _every_module()
    tree = core.errors.__doc__ or ""
    for error in _subclasses(TierwiseError):
        if error.__module__.startswith(("tests", "test_")):
            continue
        assert error.__name__ in tree, error
        if error.__module__ != "core.errors":
            assert f"({error.__module__.replace('.', '/')}.py)" in tree, error
