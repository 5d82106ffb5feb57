# The two set-up commands of the README. Each creates .venv (Python 3.10, pinned stack) if missing.
.PHONY: run test

run:
	@tools/ensure_venv.sh
	.venv/bin/fame-tf pipeline run --data data/beauty --output runs/pipeline

test:
	@tools/ensure_venv.sh
	.venv/bin/python -m pytest -q -n 2 --dist loadfile --durations 10 tests
