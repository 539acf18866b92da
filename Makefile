# The project's vocabulary. Each target is a thin call of the real tool.
PY      := .venv/bin/python
STAMP   := .venv/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
WORKERS ?= 2

.PHONY: run demo test test-fast lint typecheck bench loadtest db db-stop docs clean

run: $(STAMP)  ## venv, embedded PostgreSQL, migrations, demo venue, API + dashboard
	.venv/bin/seatwise serve --demo

demo: run

test: $(STAMP)  ## the whole suite against a real PostgreSQL
	.venv/bin/pytest -n $(WORKERS) --dist loadfile

test-fast: $(STAMP)
	.venv/bin/pytest -n $(WORKERS) --dist loadfile -m "not slow"

lint: $(STAMP)
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench
	.venv/bin/mypy --strict src

typecheck: lint

db: $(STAMP)  ## start the embedded server and migrate
	.venv/bin/seatwise db up

db-stop: $(STAMP)  ## stop the embedded server (it outlives `make run`)
	.venv/bin/seatwise db stop

docs: $(STAMP)  ## regenerate docs/errors.md from the ErrorCode enum
	$(PY) -m seatwise.docs > docs/errors.md

# Every bench/*.py program (availability, booking, importing, jobs, loadtest, planner, reseating, seating, ...) except the
# shared modules (bench/_*.py and the three below); then the report of all results.
BENCH_LIBS := bench/ledger_audit.py bench/locustfile.py bench/report.py
BENCHES    ?= $(filter-out bench/_% $(BENCH_LIBS),$(sort $(wildcard bench/*.py)))

bench: $(STAMP)  ## every benchmark (bench/results/*.json), then bench/results/REPORT.md + charts
	@set -e; for b in $(BENCHES); do echo "== $$b"; $(PY) $$b; done
	$(PY) bench/report.py

loadtest: $(STAMP)  ## 60 s night under load with a fault run: bench/results/loadtest.{json,md}
	$(PY) bench/loadtest.py

$(STAMP): pyproject.toml
	test -d .venv || python3 -m venv .venv
	.venv/bin/pip install --quiet --upgrade pip
	.venv/bin/pip install --quiet -e '.[dev]'
	rm -f .venv/.installed-* && touch $(STAMP)

clean:
	rm -rf .venv .data build *.egg-info
