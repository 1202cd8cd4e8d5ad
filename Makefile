# Two commands on a fresh machine:   make demo   (install + default pipeline)   and   make test
VENV ?= .venv
PY := $(VENV)/bin/python
# CPU build of PyTorch (from local disk where available). On a GPU machine use e.g.
#   make setup TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cu124"
TORCH_SPEC ?= torch==2.13.0
CORES ?= 2
# Rules that run an SAE declare `gpu=1`. With a GPU, one such job at a time; without one they run on the
# CPU, so as many may run as there are cores.
GPU_SLOTS ?= $(shell nvidia-smi -L >/dev/null 2>&1 && echo 1 || echo $(CORES))

.PHONY: setup demo test test-fast lint typecheck docs bench clean browser-deps
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, so nothing later pulls a multi-GB CUDA build
	$(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

demo: setup
	$(VENV)/bin/snakemake all --cores $(CORES) --resources gpu=$(GPU_SLOTS)

test: lint browser-deps
	$(VENV)/bin/python -m pytest -q

# The fast lane for development: everything not marked slow (under two minutes on 2 cores).
test-fast: setup
	$(VENV)/bin/python -m pytest -q -m "not slow"

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/snakefmt --check workflow/Snakefile workflow/rules/
	$(VENV)/bin/snakemake --lint --directory "$$(mktemp -d)"
	$(MAKE) --no-print-directory typecheck docs

typecheck: setup
	$(VENV)/bin/mypy

# The documentation site (mkdocs-material): generated pages come from the schema and benchmarks/results.
docs: setup
	NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(VENV)/bin/mkdocs build --strict --quiet

bench: setup
	$(PY) benchmarks/synthetic_generation.py

clean:
	rm -rf results .snakemake site

# Browser tests of the viewer (tests/viz/test_viewer_browser.py): Playwright from PyPI drives Debian's chromium
# (Playwright's own browser download is not used). Without chromium those tests skip and say why.
APT_GET := $(shell [ "$$(id -u)" = 0 ] && echo apt-get || echo sudo -n apt-get)
browser-deps: setup
	@$(PY) -c "import playwright" 2>/dev/null || $(PY) -m pip install -q playwright
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  (DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -q chromium >/dev/null 2>&1 || \
	   ($(APT_GET) update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -q chromium)) || \
	  echo "browser-deps: chromium could not be installed; the viewer's browser tests will skip"
