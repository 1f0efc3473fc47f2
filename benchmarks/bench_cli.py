"""What a `tierwise` command costs before it does anything: help and argument errors.

cd <checkout> && python /path/to/benchmarks/bench_cli.py [--repeat N]

Measures the checkout in the current directory (falls back to this file's project). Each command
runs in a fresh interpreter, --repeat times; the median wall time is printed beside its ratio to
`python -c "import typer, rich"`, the floor any typer command pays. A bare typer app of two
commands is timed too: what typer itself adds to a subcommand (its completion options are coerced
through pydantic on every subcommand). Then lists which heavy libraries `tierwise --help` and an
argument error imported (none is the aim). Prints only; it asserts nothing
(tests/cli/test_startup.py guards the imports without timing anything).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path.cwd() if (Path.cwd() / "cli" / "main.py").is_file() else Path(__file__).parents[1]
PYTHON = sys.executable
TIERWISE = [PYTHON, "-m", "cli.main"]
HEAVY = ("cvxpy", "pandas", "sklearn", "langgraph", "numpy", "sqlalchemy", "pypfopt", "openai")

# The same shape as tierwise with nothing of its own: a sub-typer, options, a callback.
BARE_TYPER = """
from typing import Annotated
import typer
app = typer.Typer(help="A bare typer app.", callback=lambda: None)
app.add_typer(typer.Typer(), name="group")
@app.command()
def run(client: Annotated[str, typer.Option(help="A client.")],
        as_of: Annotated[str | None, typer.Option(help="A day.")] = None) -> None:
    \"\"\"Run.\"\"\"
@app.command()
def other() -> None:
    \"\"\"Other.\"\"\"
app()
"""

CASES: list[tuple[str, list[str]]] = [
    ('python -c "import typer, rich"', [PYTHON, "-c", "import typer, rich"]),
    ("bare typer app --help", [PYTHON, "-c", BARE_TYPER, "--help"]),
    ("bare typer app run --help", [PYTHON, "-c", BARE_TYPER, "run", "--help"]),
    ("tierwise --help", [*TIERWISE, "--help"]),
    ("tierwise run --help", [*TIERWISE, "run", "--help"]),
    ("tierwise eval run --help", [*TIERWISE, "eval", "run", "--help"]),
    ("tierwise run --as-of nonsense", [*TIERWISE, "run", "--as-of", "nonsense"]),
    (
        "tierwise run --client C-1001 --as-of nonsense",
        [*TIERWISE, "run", "--client", "C-1001", "--as-of", "nonsense"],
    ),
    ("tierwise --no-such-option", [*TIERWISE, "--no-such-option"]),
]

# In a fresh interpreter: import the CLI, drive the app as a shell would, report sys.modules.
PROBE = """
import json, sys
from typer.testing import CliRunner
from cli.main import app
result = CliRunner().invoke(app, json.loads(sys.argv[1]))
heavy = json.loads(sys.argv[2])
print(json.dumps({"exit": result.exit_code, "imported": [m for m in heavy if m in sys.modules]}))
"""
PROBES = [["--help"], ["run", "--help"], ["run", "--client", "C-1001", "--as-of", "nonsense"]]


def timed(argv: list[str], env: dict[str, str], repeat: int) -> tuple[float, int]:
    """The median wall time of argv in ms over `repeat` runs (after one warm-up), and its exit."""
    subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, check=False)
    times = []
    code = 0
    for _ in range(repeat):
        start = time.perf_counter()
        code = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, check=False).returncode
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per command (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        # A command that gets past its arguments must not touch a real database.
        env = {**os.environ, "TIERWISE_DATABASE_URL": f"sqlite:///{Path(scratch) / 'bench.db'}"}
        print(f"{ROOT}: median of {args.repeat} runs each, fresh interpreter")
        baseline = 0.0
        for name, argv in CASES:
            ms, code = timed(argv, env, args.repeat)
            baseline = baseline or ms
            print(f"  {name:48} {ms:8.1f} ms  {ms / baseline:5.1f}x  exit {code}")
        print("heavy modules imported:")
        for probe in PROBES:
            out = subprocess.run(
                [PYTHON, "-c", PROBE, json.dumps(probe), json.dumps(HEAVY)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode != 0:
                print(f"  tierwise {' '.join(probe)}: probe failed\n{out.stderr}")
                continue
            found = json.loads(out.stdout.strip().splitlines()[-1])
            imported = ", ".join(found["imported"]) or "none"
            print(f"  tierwise {' '.join(probe):44} exit {found['exit']}: {imported}")


if __name__ == "__main__":
    main()
