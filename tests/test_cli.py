"""The `tp` command: installed with the package, usable from any folder, one line and exit 2 on a mistake."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from shipped import ROOT

from tp.cli.main import COMMANDS, main

STAGES = ("train", "evaluate", "predict", "plan", "optimize", "push", "download", "space", "serve", "benchmark")


def run_tp(*args: str, cwd: Path = Path("/")) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tp", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_help_lists_every_stage_from_any_folder() -> None:
    done = run_tp("--help")
    assert done.returncode == 0, done.stderr
    assert all(f"    {name}" in done.stdout for name in STAGES)
    assert set(STAGES) == set(COMMANDS)
    console = shutil.which("tp", path=str(Path(sys.executable).parent))  # the console script of the package
    assert console and subprocess.run([console, "--version"], capture_output=True, text=True).stdout.startswith("tp ")


def test_a_mistake_is_one_line_and_exit_status_2(tmp_path: Path) -> None:
    done = run_tp("evaluate", str(tmp_path / "no-such-run"), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_scripts_are_the_same_commands(capsys) -> None:
    shim = subprocess.run([sys.executable, str(ROOT / "scripts" / "plan_memory.py"), "--help"], capture_output=True,
                          text=True, timeout=120)
    assert shim.returncode == 0 and "usage: tp plan" in shim.stdout
    assert main(["train", "--time-budget", "5"]) == 2  # a budget without a search
    assert capsys.readouterr().err == "error: --time-budget bounds a search: give --search N too\n"
