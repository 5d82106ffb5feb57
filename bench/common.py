"""What every benchmark shares: where things are, the machine and commit a result comes from, and
the envelope every result file is written in. Standard library only: the RecBole peer imports it
from its own environment."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from typing import Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")  # committed: <suite>/<benchmark>[-<data or setting>].json
WORK = os.path.join(ROOT, "bench", "work")  # not committed: run directories, exports, checkpoints
SUITES = ("quality", "performance", "analysis", "report")


def result_path(suite: str, name: str) -> str:
    """``bench/results/<suite>/<name>.json`` (its directory created)."""
    if suite not in SUITES:
        raise ValueError(f"suite={suite!r}; choose one of {list(SUITES)}")
    os.makedirs(os.path.join(RESULTS, suite), exist_ok=True)
    return os.path.join(RESULTS, suite, f"{name}.json")


def work_dir(*parts: str) -> str:
    return os.path.join(WORK, *parts)


def cpu_model() -> str:
    """The CPU's model name (oneDNN picks other kernels on other CPUs, so every timing names it)."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """Where a result was measured: CPU model, cores, memory, platform, Python, and the load then."""
    return {"cpu_model": cpu_model(), "cpus": os.cpu_count(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "platform": platform.platform(), "python": platform.python_version(),
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()]}


def commit() -> Optional[str]:
    """The checkout's commit, with ``+changes`` when tracked files differ from it; None outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def command() -> str:
    """The command that produced a result, as a user would type it."""
    if sys.argv and os.path.basename(sys.argv[0]) == "__main__.py":
        return "python -m bench " + " ".join(sys.argv[1:])
    return " ".join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:]) if sys.argv else ""


def envelope(benchmark: str) -> dict:
    """The fields every result records: the benchmark, its command, the commit, the machine, the date."""
    return {"benchmark": benchmark, "command": command(), "commit": commit(), "machine": machine(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


def read_result(path: str, default=None):
    if not os.path.exists(path):
        return default
    with open(path) as handle:
        return json.load(handle)


def write_result(path: str, benchmark: str, payload: dict, echo: bool = True) -> str:
    """Writes ``payload`` with the envelope of ``benchmark`` to ``path`` (atomically: an interrupted
    write leaves the old file), prints it, and returns the path."""
    write_json(path, {**payload, **envelope(benchmark)})
    if echo:
        print(json.dumps(payload, indent=1))
    print(f"wrote {os.path.relpath(path, ROOT)}", flush=True)
    return path


def write_json(path: str, data) -> None:
    """``data`` as JSON at ``path``, atomically (for files that merge entries, each with its envelope)."""
    with open(path + ".tmp", "w") as handle:
        json.dump(data, handle, indent=1)
    os.replace(path + ".tmp", path)


def beauty_lengths():
    """User lengths of the bundled Beauty data: the shape the synthetic benchmarks resample."""
    with open(os.path.join(ROOT, "data", "beauty", "Beauty.txt")) as handle:
        return [len(line.split()) - 1 for line in handle]
