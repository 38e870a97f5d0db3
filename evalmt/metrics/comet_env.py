"""The COMET environment: a virtual environment of its own for unbabel-comet.

unbabel-comet 2.2.7 pins transformers<5, numpy<2, huggingface-hub<1 and
torchmetrics<0.11 (whose import needs setuptools<82), and its ``predict``
fails on transformers 5, while evalmt itself runs on transformers 5 and
numpy 2. So COMET runs in its own interpreter: ``evalmt setup comet`` makes
a venv (default ``~/.cache/evalmt/comet-venv``, or under ``$EVALMT_CACHE_DIR``
or ``$XDG_CACHE_HOME/evalmt``), installs torch the way ``scripts/install.sh``
does (the CUDA build where ``nvidia-smi`` sees a GPU, else the CPU build) and
the pinned COMET packages, and checks that ``comet`` imports. The COMET
worker (``neural_worker.py``, stdlib-only at import) runs in that
interpreter and talks to evalmt over a JSON request file and JSON lines.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from evalmt.errors import EvalMTError

COMET_REQUIREMENTS = ("unbabel-comet==2.2.7", "setuptools<82")
#: Packages whose versions enter a COMET score's signature and cache fingerprint.
COMET_PACKAGES = ("unbabel-comet", "torch", "transformers")
#: The CPU torch pin of scripts/install.sh (a local wheel on the dev/CI machines).
CPU_TORCH = "torch==2.13.0"
ENV_NAME = "comet-venv"


def cache_root(environ: Mapping[str, str]) -> Path:
    """Return evalmt's cache folder: $EVALMT_CACHE_DIR, else $XDG_CACHE_HOME/evalmt or ~/.cache."""
    if environ.get("EVALMT_CACHE_DIR"):
        return Path(environ["EVALMT_CACHE_DIR"]).expanduser()
    base = environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base) / "evalmt"


def env_python(env_dir: Path) -> Path:
    """Return the interpreter of a venv folder."""
    return env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def default_python(environ: Mapping[str, str]) -> Path:
    """Return the interpreter of the default COMET environment (it may not exist yet)."""
    return env_python(cache_root(environ) / ENV_NAME)


def torch_install_args(*, has_gpu: bool, torch_index: str | None) -> list[str]:
    """Pip arguments that install torch as scripts/install.sh does."""
    if has_gpu:
        return ["torch>=2.2,<3"]
    if torch_index:
        return ["torch>=2.2,<3", "--index-url", torch_index]
    return [CPU_TORCH]


def has_nvidia_gpu() -> bool:
    """Tell whether ``nvidia-smi -L`` lists a GPU."""
    if shutil.which("nvidia-smi") is None:
        return False
    return subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode == 0


def package_versions(python: str | Path, packages: Sequence[str] = COMET_PACKAGES
                     ) -> dict[str, str]:
    """Versions of ``packages`` in another interpreter (importlib.metadata; imports nothing)."""
    code = ("import importlib.metadata as m, json, sys\n"
            "print(json.dumps({p: m.version(p) for p in sys.argv[1:]}))")
    done = subprocess.run([str(python), "-c", code, *packages], capture_output=True, text=True,
                          timeout=120)
    if done.returncode != 0:
        raise EvalMTError(f"{python}: cannot read package versions: "
                          f"{done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout)


def setup_comet_env(env_dir: Path, *, torch_args: Sequence[str],
                    log: Callable[[str], None] = lambda _: None) -> dict[str, str]:
    """Create (or complete) the COMET venv at ``env_dir``; return its package versions."""
    def step(what: str, command: list[str]) -> None:
        log(what)
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            raise EvalMTError(f"setup comet: {what} failed (exit {done.returncode}):\n{tail}")

    python = env_python(env_dir)
    if not python.exists():
        step(f"creating {env_dir}", [sys.executable, "-m", "venv", str(env_dir)])
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    if subprocess.run([str(python), "-c", "import torch"], capture_output=True).returncode:
        step(f"installing {' '.join(torch_args)}", [*pip, *torch_args])
    step(f"installing {' '.join(COMET_REQUIREMENTS)}", [*pip, *COMET_REQUIREMENTS])
    step("checking that comet imports", [str(python), "-c", "import comet"])
    return package_versions(python)
