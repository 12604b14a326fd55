# Developer shortcuts. `make test` runs exactly the test command of README.md
# and .ci/run.

.PHONY: install test lint bench

install:
	pip install -e '.[test]'
	python -m compileall -q temporallite

test:
	python -m pytest -n 2 -q

lint:
	ruff check temporallite tests
	mypy temporallite

bench:
	@if [ -f bench/__main__.py ]; then \
		python -m bench; \
	else \
		echo "bench: not yet (bench/ has no runner)"; \
	fi
