"""Sub-command ``evalmt setup comet``: the COMET environment in one command.

unbabel-comet needs older transformers/numpy than evalmt, so COMET scores are
computed by a worker in a venv of its own (see ``evalmt.metrics.comet_env``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``setup`` sub-command."""
    parser = subparsers.add_parser(
        "setup", help="set up an optional environment (comet: unbabel-comet in its own venv)",
        description="Create the virtual environment the comet metric runs in (unbabel-comet "
                    "2.2.7 pins transformers<5 and numpy<2). Default folder: "
                    "$EVALMT_CACHE_DIR/comet-venv, else ~/.cache/evalmt/comet-venv. torch is "
                    "installed as scripts/install.sh does: the CUDA build when nvidia-smi sees "
                    "a GPU, else $EVALMT_TORCH_INDEX's build, else the CPU pin.")
    parser.add_argument("what", choices=("comet",), help="the environment to set up")
    parser.add_argument("--dir", type=Path, metavar="DIR",
                        help="venv folder (default: the cache folder's comet-venv)")
    parser.set_defaults(func=run_setup)


def run_setup(args: argparse.Namespace) -> int:
    """Create the COMET venv and print where it is; return 0."""
    from evalmt.metrics.comet_env import (
        ENV_NAME,
        cache_root,
        env_python,
        has_nvidia_gpu,
        setup_comet_env,
        torch_install_args,
    )

    env_dir = args.dir or cache_root(os.environ) / ENV_NAME
    torch_args = torch_install_args(has_gpu=has_nvidia_gpu(),
                                    torch_index=os.environ.get("EVALMT_TORCH_INDEX"))
    versions = setup_comet_env(env_dir, torch_args=torch_args,
                               log=lambda m: print(f"setup comet: {m}", file=sys.stderr))
    print(f"COMET environment ready: {env_python(env_dir)}")
    print("  " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    if args.dir:
        print(f"  use it with the comet option python: {env_python(env_dir)}")
    return 0
