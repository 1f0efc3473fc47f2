"""`tierwise` help and argument errors stay cheap, and every command still shows its help.

Timing is left to benchmarks/bench_cli.py; what is checked here is the cause of a slow start:
help and a rejected argument must not import the optimiser, the data stack, the graphs or the
model client. Each check runs in a fresh interpreter, as a shell would start the command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.testing import CliRunner

from cli.main import app

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("cvxpy", "pandas", "sklearn", "langgraph", "pypfopt", "openai")

# (arguments, expected exit code): help, then arguments the CLI refuses before doing any work.
CHEAP = [
    (["--help"], 0),
    (["run", "--help"], 0),
    (["eval", "run", "--help"], 0),
    (["principal", "create", "--help"], 0),
    (["--no-such-option"], 2),
    (["no-such-command"], 2),
    (["run", "--as-of", "nonsense"], 2),
    (["run", "--client", "C-1001", "--as-of", "nonsense"], 2),
    (["demo", "--as-of", "nonsense"], 2),
    (["seed"], 2),
    (["principal", "create", "--role", "nobody", "--name", "x"], 2),
    (["principal", "update", "--name", "adv-li"], 2),  # nothing to change
    (
        [
            "decide",
            "A-1",
            "--action",
            "approve",
            "--advisor",
            "a",
            "--plan-hash",
            "h",
            "--weights",
            "{",
        ],
        2,
    ),
    (["prune", "--older-than-days", "-1"], 2),
    (["batch"], 2),
    (["batch", "--all", "--as-of", "nonsense"], 2),
    (["worker", "--concurrency", "0"], 2),
    (["prices", "import", "no-such-file.csv"], 2),
    (["outcomes", "--group-by", "region"], 2),
    (["outcomes", "--from", "June"], 2),
    (["demo", "--past", "--as-of", "2024-01-01"], 2),
    (["eval", "run", "smoke", "--provider", "nobody"], 2),
    (["serve", "--port", "not-a-port"], 2),
]

# In a fresh interpreter: import the CLI, run each argument list through the app in turn, and
# after each, name the heavy modules that were not loaded before it.
PROBE = """
import json, sys
from typer.testing import CliRunner
from cli.main import app
heavy = json.loads(sys.argv[2])
report = [{"args": [], "exit": None, "error": None,
           "imported": [m for m in heavy if m in sys.modules]}]
for args in json.loads(sys.argv[1]):
    before = {m for m in heavy if m in sys.modules}
    result = CliRunner().invoke(app, args)
    error = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        error = repr(result.exception)
    report.append({"args": args, "exit": result.exit_code, "error": error,
                   "imported": [m for m in heavy if m in sys.modules and m not in before]})
print(json.dumps(report))
"""


def _probe(tmp_path: Path) -> list[dict]:
    # Should a regression get past the arguments, it meets a scratch database, not a real one.
    env = {**os.environ, "TIERWISE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps([a for a, _ in CHEAP]), json.dumps(HEAVY)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_loads_no_heavy_library(tmp_path: Path) -> None:
    start = _probe(tmp_path)[0]
    assert start["imported"] == [], f"import cli.main loaded {start['imported']}"


def test_help_and_argument_errors_load_no_heavy_library(tmp_path: Path) -> None:
    report = _probe(tmp_path)[1:]
    assert [r["args"] for r in report] == [args for args, _ in CHEAP]
    for entry, (args, code) in zip(report, CHEAP, strict=True):
        assert entry["error"] is None, f"tierwise {' '.join(args)} raised {entry['error']}"
        assert entry["exit"] == code, f"tierwise {' '.join(args)} exited {entry['exit']}"
        assert entry["imported"] == [], f"tierwise {' '.join(args)} loaded {entry['imported']}"


def test_a_bad_as_of_is_refused_before_any_work() -> None:
    result = CliRunner().invoke(app, ["run", "--client", "C-1001", "--as-of", "nonsense"])
    assert result.exit_code == 2
    assert "--as-of must be YYYY-MM-DD, got 'nonsense'" in result.output


def _commands(group: TyperGroup, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Every command and sub-typer under `group`, by the words that invoke it."""
    found: dict[tuple[str, ...], Any] = {}
    for name, command in group.commands.items():
        found[(*path, name)] = command
        if isinstance(command, TyperGroup):
            found |= _commands(command, (*path, name))
    return found


ROOT_GROUP = typer.main.get_group(app)
COMMANDS = _commands(ROOT_GROUP)


def test_the_commands_are_all_registered() -> None:
    assert {" ".join(path) for path in COMMANDS} == {
        "seed",
        "principal",
        "principal create",
        "principal update",
        "principal duty",
        "run",
        "approvals",
        "claim",
        "decide",
        "demo",
        "db",
        "db upgrade",
        "db revision",
        "prune",
        "recover",
        "batch",
        "worker",
        "prices",
        "prices import",
        "outcomes",
        "eval",
        "eval run",
        "eval corpus",
        "eval compare",
        "serve",
    }


@pytest.mark.parametrize("path", [(), *COMMANDS], ids=lambda p: " ".join(p) or "tierwise")
def test_every_command_shows_its_help_and_options(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    where = f"tierwise {' '.join(path)} --help"
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    command = COMMANDS[path] if path else ROOT_GROUP
    assert command.help, f"{where} has no description"
    shown = " ".join(result.output.split())
    assert " ".join(command.help.split()[:5]) in shown, f"{where} lost its description"
    for param in command.params:
        if isinstance(param, TyperArgument):
            assert (param.name or "").lower() in shown.lower(), f"{param.name} missing from {where}"
        else:
            for opt in param.opts:
                assert opt in result.output, f"{opt} missing from {where}"
        if isinstance(param, TyperOption | TyperArgument) and param.help:
            assert " ".join(param.help.split()[:3]) in shown, f"{param.help} not in {where}"
    if isinstance(command, TyperGroup):
        for name in command.commands:
            assert name in result.output, f"{name} missing from {where}"
