#!/usr/bin/env bash
# Creates .venv-recbole: stock RecBole 1.2.1 with a CPU build of PyTorch on Python 3.11, the peer that
# bench/recbole_peer.py runs beside ours. The install order matters (one pip command fails to resolve):
# torch first, then RecBole with NumPy/pandas below their next majors, then an old setuptools because
# ray, which RecBole imports, still needs pkg_resources. Prints the environment's python.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-recbole
STAMP="$VENV/.installed"
if [[ -f "$STAMP" && -x "$VENV/bin/python" ]]; then
  echo "$PWD/$VENV/bin/python"
  exit 0
fi
PY=${RECBOLE_PYTHON:-}
for candidate in "$PY" "$HOME"/.pyenv/versions/3.11*/bin/python3.11 python3.11; do
  [[ -n "$candidate" ]] && command -v "$candidate" >/dev/null 2>&1 && { PY=$candidate; break; }
done
[[ -n "$PY" ]] || { echo "RecBole's peer needs Python 3.11 (set RECBOLE_PYTHON)" >&2; exit 3; }
rm -rf "$VENV"
echo "==> creating $VENV with $PY: torch 2.13.0 (CPU), recbole 1.2.1" >&2
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
"$VENV/bin/python" -m pip install --quiet torch==2.13.0 >&2
"$VENV/bin/python" -m pip install --quiet recbole==1.2.1 "numpy<2" "pandas<3" click >&2
"$VENV/bin/python" -m pip install --quiet --no-deps "setuptools<70" >&2
touch "$STAMP"
echo "$PWD/$VENV/bin/python"
