#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs the pinned stack, unless it is already up to date.
# TFX 1.16 supports Python < 3.11 only, so a newer default python3 is not enough.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
STAMP="$VENV/.installed"

if [[ -f "$STAMP" && "$STAMP" -nt constraints.txt && "$STAMP" -nt setup.py ]]; then
  exit 0
fi

find_python310() {
  local candidate
  for candidate in "${PYTHON310:-}" python3.10 \
      "$(command -v pyenv >/dev/null 2>&1 && pyenv root 2>/dev/null)"/versions/3.10*/bin/python3.10 \
      "$HOME"/.pyenv/versions/3.10*/bin/python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do
    [[ -n "$candidate" ]] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if [[ ! -x "$VENV/bin/python" ]]; then
  if ! PY=$(find_python310); then
    cat >&2 <<'MSG'
error: fame-tf needs Python 3.10 (TFX 1.16 does not support 3.11 or newer), and none was found.
Install it, for example with `pyenv install 3.10.13` or your system's python3.10 and python3.10-venv
packages, or point PYTHON310 at a Python 3.10 interpreter, then run the command again.
MSG
    exit 1
  fi
  echo "==> creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi

# The stack takes about 3.3 GB in .venv, plus pip's unpacked wheels while it installs.
free_kb=$(df -Pk "$VENV" 2>/dev/null | awk 'NR == 2 {print $4}') || true  # only a warning
if [[ "$free_kb" =~ ^[0-9]+$ ]] && (( free_kb < 5 * 1024 * 1024 )); then
  echo "warning: $((free_kb / 1024)) MB free where $VENV lives; installing needs about 5 GB" >&2
fi
echo "==> installing the pinned stack into $VENV (about 3 minutes the first time)"
"$VENV/bin/python" -m pip install --quiet --upgrade "pip==26.3"
"$VENV/bin/python" -m pip install --quiet -c constraints.txt -e ".[all,test]"
touch "$STAMP"
echo "==> $VENV is ready"
