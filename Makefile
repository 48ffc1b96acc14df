# make demo   run the example project (API, admin, Celery worker) on SQLite
# make test   run the whole test suite (SQLite + filesystem broker by default;
#             DATABASE_URL / CELERY_BROKER_URL switch to real servers)
# make test-fast  the unit tests only: no Celery worker, no server, no build
#             (-m "not integration and not slow", on every core; about 25 s)
# make lint   ruff check, ruff format --check, mypy --strict
# make docs   build the documentation site into site/ (docs-serve: live preview)
# make frontend  rebuild the example project's page at /app/ (Node.js; the
#             built files are committed, so make demo needs no Node.js)
# make bench  the speed and memory benchmark (docs/performance.md)

PYTHON ?= $(shell scripts/find-python 3.12)
VENV ?= .venv
PYTEST_ARGS ?=
# Extra requirements pinned into the venv, e.g. EXTRA_REQUIREMENTS='Django>=5.2,<6'
EXTRA_REQUIREMENTS ?=

.PHONY: venv demo test test-fast lint format clean schema loadtest docs docs-js docs-serve bench frontend

$(VENV)/.installed: pyproject.toml scripts/bootstrap-venv
	EXTRA_REQUIREMENTS='$(EXTRA_REQUIREMENTS)' scripts/bootstrap-venv $(VENV) $(PYTHON)
	touch $@

venv: $(VENV)/.installed

demo: venv
	VENV=$(VENV) example_project/run-demo

# The example project's page at /app/ (example_project/frontend/build): npm ci
# from its lockfile, the SDK generated from the project's OpenAPI schema, tsc,
# esbuild. Writes example_project/books/static/books/app/, which is committed:
# run it after changing the page or the API, and commit the result.
frontend: venv
	VENV=$(VENV) example_project/frontend/build

# pytest exits 5 when it collects no test: reported, not treated as a failure.
test: venv
	@$(VENV)/bin/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

# The tests that start no Celery worker, server, browser or build (markers in
# pyproject.toml): what to run while editing; `make test` before committing.
test-fast: venv
	@$(VENV)/bin/python -m pytest -m "not integration and not slow" -n auto -q $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy drf_import_export_jobs

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The documentation site (mkdocs.yml, docs/): built offline into site/, every
# warning an error; docs-serve rebuilds it on change at http://127.0.0.1:8001/.
# The site serves its JavaScript itself: the mermaid library comes from the npm
# package pinned by scripts/docs-js/package-lock.json, installed into build/.
DOCS_JS := build/docs-js
$(DOCS_JS)/.installed: scripts/docs-js/package.json scripts/docs-js/package-lock.json
	mkdir -p $(DOCS_JS)
	cp scripts/docs-js/package.json scripts/docs-js/package-lock.json $(DOCS_JS)/
	cd $(DOCS_JS) && npm ci --no-audit --no-fund --ignore-scripts
	touch $@

docs-js: $(DOCS_JS)/.installed

SITE_DIR ?= site
docs: venv docs-js
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir $(SITE_DIR)

docs-serve: venv docs-js
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve --strict --dev-addr 127.0.0.1:8001

clean:
	rm -rf $(VENV) example_project/var example_project/frontend/var example_project/frontend/src/client bench/var bench/.venv-ext .pytest_cache .ruff_cache site build

# A bounded load test on loopback: 50 clients against the example project with
# 2 Celery workers on PostgreSQL + Redis (see scripts/loadtest).
loadtest: venv
	VENV=$(VENV) scripts/loadtest

# Regenerate the golden OpenAPI schema of the tests (tests/schema/openapi.yaml)
# after reviewing an intended change of the API.
schema: venv
	DJANGO_SETTINGS_MODULE=tests.settings $(VENV)/bin/python -m django spectacular \
		--urlconf tests.api_urls --validate --fail-on-warn --file tests/schema/openapi.yaml

# The benchmark (bench/run.py): this package against django-import-export-extensions
# (own venv bench/.venv-ext), django-import-export, a raw loop and a raw COPY. Options go in
# BENCH_ARGS, e.g. BENCH_ARGS='--sizes 100k --database postgres://postgres@127.0.0.1/bench_books'
# (see docs/performance.md; `python -m bench.run --help` lists them all).
BENCH_ARGS ?=
bench: venv
	$(VENV)/bin/python -m bench.run $(BENCH_ARGS)
