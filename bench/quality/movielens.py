"""MovieLens-100K for the long-sequence rows: 943 users, 1,682 items, 100,000 ratings, about 106 per
user. The file ships inside the `recbole` wheel on the package index; this fetches the wheel (no
copy in the repository) and writes the interaction log as bench/work/data/ml-100k/ml-100k.tsv,
which `fame-tf train` reads with its own column names:

    python -m bench movielens
    python -m bench reproduce --data bench/work/data/ml-100k --jobs 2 \\
        --extra "--user-col user_id:token --item-col item_id:token --time-col timestamp:float --max-len 200"
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import zipfile

import click

from bench.common import work_dir

WHEEL = "recbole==1.2.1"
MEMBER = "recbole/dataset_example/ml-100k/ml-100k.inter"
COLUMNS = ("user_id:token", "item_id:token", "timestamp:float")


@click.command()
@click.option("--work", default=work_dir(), show_default=True)
def main(work):
    target = os.path.join(work, "data", "ml-100k", "ml-100k.tsv")
    if not os.path.exists(target):
        wheels = os.path.join(work, "wheels")
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "--dest", wheels, WHEEL], check=True)
        (wheel,) = glob.glob(os.path.join(wheels, "recbole-1.2.1-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            text = archive.read(MEMBER).decode("utf-8")
        header = text.split("\n", 1)[0].split("\t")
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise SystemExit(f"{wheel}:{MEMBER}: columns {missing} missing from its header {header}")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target + ".tmp", "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(target + ".tmp", target)
    lines = sum(1 for _ in open(target, encoding="utf-8")) - 1
    print(f"{target}: {lines} interactions")


if __name__ == "__main__":
    main()
