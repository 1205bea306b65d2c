# One task runner. `make run` opens the assistant on the bundled article, `make test`
# runs the whole test suite; both create .venv and install everything first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch. On this project's machines pip finds it locally; elsewhere run
#   make TORCH_INDEX=https://download.pytorch.org/whl/cpu ...
# (or install any torch you like into .venv first: a satisfied requirement is kept).
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
EXTRAS ?= test,scale,onnx
# The tested versions of every dependency (CPython 3.11, Linux x86-64; torch apart): `make lock`
# writes it again. LOCK= installs from pyproject.toml's ranges instead.
LOCK ?= requirements.lock
Q ?= Đảng bộ Công an tỉnh đã kết nạp được bao nhiêu đảng viên mới trong nhiệm kỳ 2010 – 2015?

.PHONY: install lock run test lint typecheck bench eval clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH_SPEC)"
	$(if $(LOCK),$(PY) -m pip install --quiet -r $(LOCK))
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	$(PY) -m pip check
	touch $@

# Resolve pyproject.toml (with the test extra) again into requirements.lock, with uv. torch is
# installed first from its CPU build, so it is resolved as that build and left out of the file;
# where pip does not find that build locally: make lock LOCK_ARGS=--extra-index-url=$(CPU_INDEX)
CPU_INDEX := https://download.pytorch.org/whl/cpu
LOCK_ARGS ?= $(if $(TORCH_INDEX),--extra-index-url=$(TORCH_INDEX),$(if $(wildcard /opt/wheels),--find-links=/opt/wheels,--extra-index-url=$(CPU_INDEX)))
lock: install
	$(PY) -m pip install --quiet "uv>=0.9"
	echo "$(TORCH_SPEC)+cpu" > $(VENV)/torch-override.txt
	$(VENV)/bin/uv pip compile pyproject.toml --extra test --extra scale --extra onnx --python-version 3.11 --quiet \
		--override $(VENV)/torch-override.txt --no-emit-package torch --index-strategy unsafe-best-match \
		$(LOCK_ARGS) --custom-compile-command "make lock" -o requirements.lock

run: install
	$(VENV)/bin/assistant chat

test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check assistant ui tests bench
	$(VENV)/bin/lint-imports

typecheck: install
	$(VENV)/bin/mypy assistant

# Benchmarks (bench/run.py): tables on screen, artifacts/bench/results.{json,md}. The 1M-passage
# corpus: make bench BENCH_ARGS=--scale-1m. Installs the `bench` extra (the LangChain peer) if missing.
bench: install
	$(PY) -c "import langchain_classic, langchain_community, langchain_text_splitters, rank_bm25" 2>/dev/null \
		|| $(PY) -m pip install --quiet -e ".[bench]"
	$(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) index/default .pytest_cache
