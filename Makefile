# The README's two commands: `make app` and `make test`.
export HF_HUB_OFFLINE := 1
export PYOPENGL_PLATFORM ?= osmesa
PYTEST_ARGS ?=

.PHONY: install install-dev app test lint
install:
	scripts/install.sh
install-dev:
	scripts/install.sh --dev
app: install
	.venv/bin/llamo-coach
test: install-dev
	.venv/bin/python -m pytest $(PYTEST_ARGS)
lint: install-dev
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
