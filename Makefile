# The two set-up commands of the README. Each creates .venv (Python 3.10, pinned stack) if missing.
.PHONY: run test

run:
	@tools/ensure_venv.sh
	.venv/bin/fame-tf train --data data/beauty --output runs/beauty-fame

test:
	@tools/ensure_venv.sh
	.venv/bin/python -m pytest -q tests
