# The two commands: `make demo` and `make test`. Each builds .venv from nothing on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Re-install whenever pyproject.toml changes.
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test lint screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	# devtools/ (bench, seed, the demo café) stays out of the wheel; the clone's venv can import it.
	$(BIN)/python -c "import pathlib, site; pathlib.Path(site.getsitepackages()[0], 'kanta-devtools.pth').write_text(str(pathlib.Path.cwd()) + '\\n')"
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(BIN)/kanta demo

test: $(STAMP)
	$(BIN)/python -m pytest -n auto -q

lint: $(STAMP)
	$(BIN)/ruff check backend shared mobile devtools scripts tests
	$(BIN)/ruff format --check backend shared mobile devtools scripts tests
	$(BIN)/lint-imports

screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) build *.egg-info
