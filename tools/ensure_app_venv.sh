#!/usr/bin/env bash
# Creates .venv-app: an app's environment, with the newest Python here other than 3.10 on which
# TensorFlow installs, the newest TensorFlow and Keras there, and fame-tf's runtime only (no extras:
# no tf-keras, TFRS or TFX). Rebuilt when setup.py changes. Prints the environment's python; exit 3
# when no Python newer than 3.10 exists here or TensorFlow installs on none (the app test then skips).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-app
STAMP="$VENV/.installed"

if [[ -f "$STAMP" && "$STAMP" -nt setup.py && -x "$VENV/bin/python" ]]; then
  echo "$PWD/$VENV/bin/python"
  exit 0
fi

# Pythons newer than 3.10, newest first, one per minor version.
candidates() {
  local candidate
  for candidate in "${APP_PYTHON:-}" \
      "$(command -v pyenv >/dev/null 2>&1 && pyenv root 2>/dev/null)"/versions/3.1[1-9]*/bin/python3.1[1-9] \
      "$HOME"/.pyenv/versions/3.1[1-9]*/bin/python3.1[1-9] python3.13 python3.12 python3.11 python3; do
    [[ -n "$candidate" ]] && command -v "$candidate" >/dev/null 2>&1 || continue
    "$candidate" -c 'import sys, venv; v = sys.version_info; sys.exit(v[:2] <= (3, 10)); ' 2>/dev/null || continue
    echo "$("$candidate" -c 'import sys; print(sys.version_info[0] * 100 + sys.version_info[1])') $candidate"
  done | sort -rn -k1,1 | sort -u -k1,1 -rn | cut -d' ' -f2-
}

PYTHONS=$(candidates)
if [[ -z "$PYTHONS" ]]; then
  echo "no Python newer than 3.10 found (set APP_PYTHON to one)" >&2
  exit 3
fi
while read -r PY; do
  rm -rf "$VENV"
  echo "==> creating $VENV with $PY and fame-tf's runtime (newest TensorFlow and Keras; about 2 minutes)" >&2
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
  if "$VENV/bin/python" -m pip install --quiet -e . >&2; then
    touch "$STAMP"
    echo "$PWD/$VENV/bin/python"
    exit 0
  fi
  echo "==> TensorFlow or Keras does not install on $PY; trying an older Python" >&2
done <<< "$PYTHONS"
rm -rf "$VENV"
echo "TensorFlow installs on none of: $(echo $PYTHONS)" >&2
exit 3
