# keyless.aws developer toolchain. `make test` is the whole check, from a fresh clone:
# it builds its own virtualenvs from the pinned requirements and needs only Python 3.11
# (plus, optionally, a Python 3.12 for the second leg). `make help` lists the targets.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PY311 ?= python3
# Found once: pyenv's 3.12.1, the pyenv shim with PYENV_VERSION, or a plain python3.12. Empty
# when there is none, and then the 3.12 legs are skipped with a note.
ifeq ($(origin PY312), undefined)
PY312 := $(shell hack/python312.sh)
endif

VENV := .venv
VENV312 := .venv-py312
REQ311 := requirements/dev-py311.txt
REQ312 := requirements/dev-py312.txt
STAMP := .requirements.stamp
# The pins are complete and the machine's pip configuration may add extra indexes whose
# warnings would drown the output: -qq still prints errors.
PIP_INSTALL := pip install -qq --progress-bar off --disable-pip-version-check --no-compile
# The virtualenvs' own install writes pip's normal output to a log that build_venv reads.
PIP_INSTALL_LOGGED := pip install --progress-bar off --disable-pip-version-check --no-compile
# Every requirements file our targets install carries the sha256 hashes of its files
# (hack/hash_requirements.sh): pip refuses a file whose digest is not listed, wherever it came
# from (the index, one of the machine's extra indexes, its cache).
REQUIRE_HASHES := --require-hashes

BUILD := $(CURDIR)/.build
REPORTS := $(BUILD)/reports
COLLECTIONS := $(BUILD)/collections
COLLECTION_LINK := .build/collections/ansible_collections/keyless/aws
# Where ansible-playbook, ansible-doc and ansible-lint find keyless.aws: the checkout itself.
ANSIBLE_ENV := ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS)
# pytest runs also keep hypothesis' example database out of the work tree (and the tarball).
TEST_ENV := $(ANSIBLE_ENV) HYPOTHESIS_STORAGE_DIRECTORY=$(BUILD)/hypothesis

UNIT_ARGS ?= -n 2
INTEGRATION_ARGS ?= -n 4
# AWS on a bad day (sandbox/bad_day.py): the 3.11 integration leg and the e2e flow run with the
# AWS server playing IAM's eventual consistency, EC2's state transitions, throttling, 5xx answers,
# lost responses and AWS's refusals. BAD_DAY=off runs them on a kind AWS (faster).
BAD_DAY ?= realistic
bad_day_args = --bad-day $(BAD_DAY) --bad-day-report $(REPORTS)/bad-day/$(1)

.PHONY: help venv venv-py312 link lint sanity unit integration e2e packaging \
	molecule unit-py312 integration-py312 sanity-py312 test demo demo-lab lab-host bench lock clean coverage mutation

help:
	@echo "make test         every check: lint sanity unit integration coverage molecule e2e packaging (3.11), unit integration (3.12)"
	@echo "make venv         .venv from $(REQ311) (venv-py312: .venv-py312 from $(REQ312))"
	@echo "make lint         ruff check, ansible-lint (production profile), antsibull-changelog lint"
	@echo "make sanity       ansible-test sanity --venv, every test, offline bootstrap of pip (sanity-py312: 2.21)"
	@echo "make unit         pytest tests/unit                   (unit-py312: same on 3.12)"
	@echo "make integration  pytest tests/integration            (integration-py312: same on 3.12)"
	@echo "make coverage     branch coverage of plugins/ from the data make unit and make integration leave (COVERAGE=0: none)"
	@echo "make mutation     mutmut over the behaviour modules and _policy.py against the unit tests (not in make test)"
	@echo "make molecule     pytest tests/molecule: role scenarios through molecule"
	@echo "make e2e          site.yml, rerun, broken variants and teardown on the sandbox (the main flow on the lab instance)"
	@echo "make packaging    build, install offline and use the collection tarball"
	@echo "make demo         the end-to-end demo (sandbox/demo.py); DEMO_ARGS=\"--bad-day realistic\" on a bad day"
	@echo "make demo-lab     the same flow on the lab instance: a Debian userland over SSH, become (sandbox/lab.py)"
	@echo "make bench        keyless.aws vs amazon.aws: API calls and time per task (bench/run.py)"
	@echo "make lock         re-resolve requirements/dev.in into the pinned, hashed dev-py3XX.txt files (and bench, mutation, lock-tools)"
	@echo "make clean        remove venvs, .build and test output"
	@echo "3.12 interpreter: $(if $(PY312),$(PY312),none found: the 3.12 legs are skipped)"

# --- virtualenvs: rebuilt from scratch whenever their requirements file changes ---------------

# A fresh clone's first `make demo` or `make test` spends a minute or more here, so the recipe
# says what it does: the package count, a line per 20 packages pip collects, the install, the
# time. pip's own output (its warnings about the machine's extra indexes included) goes to a log
# in the virtualenv, shown in part only when pip fails. The stamp is written last, so an
# interrupted build is redone from scratch next time. The count reads the `name==version \` lines
# of the hashed lock (the --hash lines under them are not counted).
# $(call build_venv,python,venv,requirements)
define build_venv
	@n=$$(grep -cE '^[A-Za-z0-9][^ ]*==' $(3)); start=$$SECONDS; log=$(2)/pip-install.log; \
	echo "== building $(2): installing $$n pinned packages from $(3) with $$($(1) -c 'import sys; print(sys.executable, sys.version.split()[0])') (a minute or two; once, until $(3) changes)"; \
	rm -rf $(2); $(1) -m venv $(2); : >$$log; \
	echo "   pip: collecting the $$n packages (from the package index, pip's cache or local wheels), then installing them; its full output: $$log"; \
	$(2)/bin/$(PIP_INSTALL_LOGGED) $(REQUIRE_HASHES) -r $(3) >$$log 2>&1 & pip=$$!; \
	tail -n +1 -f --pid=$$pip $$log | awk -v n=$$n \
	  '/^(Collecting|Processing) /{c++; if (c % 20 == 0) {printf "   %d/%d collected\n", c, n; fflush()}} \
	   /^Installing collected packages/{printf "   %d/%d collected; installing them\n", c, n; fflush()}'; \
	wait $$pip || { rc=$$?; echo "error: pip failed ($$rc); the end of $$log:" >&2; tail -n 25 $$log >&2; exit $$rc; }; \
	echo "== $(2) ready in $$((SECONDS - start)) s"
	@touch $(2)/$(STAMP)
endef

venv: $(VENV)/$(STAMP)

$(VENV)/$(STAMP): $(REQ311)
	@$(PY311) -c 'import sys; sys.version_info[:2] == (3, 11) or print("note: PY311=$(PY311) is not Python 3.11; $(REQ311) was locked for 3.11")'
	$(call build_venv,$(PY311),$(VENV),$(REQ311))

venv-py312: $(if $(PY312),$(VENV312)/$(STAMP))

$(VENV312)/$(STAMP): $(REQ312)
	$(call build_venv,$(PY312),$(VENV312),$(REQ312))

# The same relative link tests/conftest.py makes: .build/collections/ansible_collections/keyless/aws
# -> the repository root, so `keyless.aws` resolves to the checkout.
link:
	@[ -L $(COLLECTION_LINK) ] || { mkdir -p $(dir $(COLLECTION_LINK)) && ln -sfn ../../../.. $(COLLECTION_LINK); }

# --- checks -----------------------------------------------------------------------------------

# All three linters run, then the target fails if any of them did.
lint: venv link
	@rc=0; \
	echo "-- ruff check"; $(VENV)/bin/ruff check . || rc=1; \
	echo "-- ansible-lint (profile: production)"; \
	$(ANSIBLE_ENV) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/ansible-lint --offline || rc=1; \
	echo "-- antsibull-changelog lint"; $(VENV)/bin/antsibull-changelog lint && echo "changelog fragments ok" || rc=1; \
	exit $$rc

# ansible-test wants the collection at .../ansible_collections/keyless/aws and reads
# os.getcwd(), so it runs in a fresh copy (hack/sanity_tree.py explains). The pip bootstrap it
# would download is written from a local pip wheel first (hack/ansible_test_bootstrap.py).
# Its per-test virtualenvs are cached under ~/.ansible/test/venv, so later runs are quick.
# House rule: no ignore entries. ansible-test would accept them, so refuse them here.
SANITY_ARGS ?=
define sanity
	@ignores=$$(ls tests/sanity/ignore-*.txt 2>/dev/null || true); [ -z "$$ignores" ] || \
	  { echo "error: sanity ignore files are not allowed, fix the code instead: $$ignores" >&2; exit 1; }
	$(1)/bin/python hack/ansible_test_bootstrap.py
	rm -rf $(REPORTS)/$(3)
	tree=$$($(1)/bin/python hack/sanity_tree.py) && cd "$$tree" && rc=0 && \
	  env -u ANSIBLE_COLLECTIONS_PATH PATH="$(CURDIR)/$(1)/bin:$$PATH" \
	    $(CURDIR)/$(1)/bin/ansible-test sanity --venv --python $(2) --junit --color no $(SANITY_ARGS) || rc=$$?; \
	  mkdir -p $(REPORTS)/$(3) && cp tests/output/junit/*.xml $(REPORTS)/$(3)/ 2>/dev/null || true; \
	  exit $$rc
endef

sanity: venv
	$(call sanity,$(VENV),3.11,sanity-py311)

# pytest exits 5 when it collected nothing: a suite that vanished must not pass quietly.
define pytest
	@mkdir -p $(REPORTS)
	$(TEST_ENV) $(1)/bin/pytest $(2) $(3) --junitxml=$(REPORTS)/$(4).xml -o junit_suite_name=$(4) \
	  || { rc=$$?; [ $$rc -ne 5 ] || echo "error: pytest collected no tests in $(2)"; exit $$rc; }
endef

unit: venv link
	$(call pytest,$(VENV),tests/unit,$(UNIT_ARGS),unit-py311)

integration: venv link
	$(call pytest,$(VENV),tests/integration,$(INTEGRATION_ARGS) $(call bad_day_args,integration-py311),integration-py311)

packaging: venv
	$(call pytest,$(VENV),tests/packaging,,packaging-py311)

# The whole flow on the sandbox: site.yml, again, broken variants, teardown (one sandbox per test
# module, its tests in order; the modules run side by side).
E2E_ARGS ?= -n 2 --dist loadfile
e2e: venv link lab-host
	$(call pytest,$(VENV),tests/e2e,$(E2E_ARGS) $(call bad_day_args,e2e-py311),e2e-py311)

# Role scenarios driven through molecule, from pytest (tests/molecule/), on 3.11 only.
MOLECULE_ARGS ?= -n 2
molecule: venv link
	@[ -d tests/molecule ] || { echo "note: no tests/molecule directory: nothing to run"; exit 0; }
	$(call pytest,$(VENV),tests/molecule,$(MOLECULE_ARGS),molecule-py311)

# Branch coverage of plugins/ over the unit and integration legs (3.11), configured in
# pyproject.toml [tool.coverage.*]. COVERAGE_PROCESS_START makes the .pth hook coverage installs
# start it in every Python process of those legs: pytest and its xdist workers, ansible-playbook
# and its forked workers (the fast path), the AnsiballZ module processes (the module path). Each
# writes a data file $(REPORTS)/.coverage.*; `make coverage` combines them (paths mapped back to
# plugins/), prints the report and fails under COVERAGE_FAIL_UNDER, the measured figure rounded
# down, so a drop fails `make test`. COVERAGE=0 runs unit and integration without it.
COVERAGE ?= 1
COVERAGE_FAIL_UNDER := 96
ifeq ($(COVERAGE),1)
unit integration: export COVERAGE_PROCESS_START := $(CURDIR)/pyproject.toml
unit integration: export COVERAGE_FILE := $(REPORTS)/.coverage
endif

COVERAGE_RUN := COVERAGE_FILE=$(REPORTS)/.coverage $(VENV)/bin/coverage
coverage: venv
	@ls $(REPORTS)/.coverage.* >/dev/null 2>&1 || \
	  { echo "error: no coverage data in $(REPORTS): run make unit integration first" >&2; exit 1; }
	@$(COVERAGE_RUN) combine -q $(REPORTS)
	@rc=0; $(COVERAGE_RUN) report --fail-under=$(COVERAGE_FAIL_UNDER) || rc=$$?; \
	total=$$($(COVERAGE_RUN) report --format=total); echo "$$total" >$(REPORTS)/coverage-total.txt; \
	echo "branch coverage of plugins/ by the unit and integration legs: $$total % (fails under $(COVERAGE_FAIL_UNDER) %)"; \
	exit $$rc

ifeq ($(PY312),)
unit-py312 integration-py312 sanity-py312:
	@echo "note: no Python 3.12 found (tried pyenv 3.12.1 and python3.12): skipping $@"
else
unit-py312: venv-py312 link
	$(call pytest,$(VENV312),tests/unit,$(UNIT_ARGS),unit-py312)

# On 3.12 (ansible-core 2.21) the integration tests that drive the modules themselves: every
# module's lifecycle, check and diff mode, bad input (test_iam_modules, on the fast path) and the
# module path compared with it case by case (test_fast_path), plus the info modules. The
# playbooks, roles, sandbox and bad-day tests add Python 3.12 nothing the unit leg and these do
# not, and all of them run on 3.11: this keeps `make test` within its time budget.
INTEGRATION_312_TESTS := $(addprefix tests/integration/,test_iam_modules.py test_fast_path.py \
	test_ec2_instance_info.py test_connection_options.py)
integration-py312: venv-py312 link
	$(call pytest,$(VENV312),$(INTEGRATION_312_TESTS),$(INTEGRATION_ARGS) --execution-paths fast,integration-py312)

# Not part of `make test`: ansible-core 2.21's sanity rules, for a look ahead.
sanity-py312: venv-py312
	$(call sanity,$(VENV312),3.12,sanity-py312)
endif

# Every leg runs even when an earlier one failed, so one run reports everything; the summary
# ends with "summary: N passed, N failed, N skipped" and the exit status is non-zero on failure.
# A leg that could not run (no Python 3.12, no test report) counts as skipped, by name; under
# CI=true it fails the run instead (hack/test_summary.py).
TEST_LEGS := lint sanity unit integration coverage molecule e2e packaging unit-py312 integration-py312
# The two virtualenvs are built side by side (each one's output shown whole when it is done).
test:
	@$(MAKE) -j2 --output-sync=target --no-print-directory venv $(if $(PY312),venv-py312)
	@rm -rf $(REPORTS)
	@results=(); rc=0; start=$$SECONDS; \
	for leg in $(TEST_LEGS); do \
	  echo; echo "==== $$leg"; leg_start=$$SECONDS; \
	  case "$$leg:$(PY312)" in \
	    *-py312:) echo "note: no Python 3.12 found: $$leg not run"; \
	              results+=("$$leg=skipped:0:no Python 3.12"); continue;; \
	  esac; \
	  if $(MAKE) $$leg PY312="$(PY312)"; then status=ok; else status=FAILED; rc=1; fi; \
	  results+=("$$leg=$$status:$$((SECONDS - leg_start))"); \
	done; \
	echo; $(VENV)/bin/python hack/test_summary.py $(REPORTS) "$${results[@]}" "total:$$((SECONDS - start))" || rc=1; \
	exit $$rc

# --- the demo and housekeeping -----------------------------------------------------------------

DEMO_ARGS ?=
# The demo script (sandbox/demo.py) starts the local AWS stand-in and runs playbooks/site.yml.
demo: venv link
	@[ -f sandbox/demo.py ] || { echo "error: sandbox/demo.py does not exist yet: there is no demo to run" >&2; exit 1; }
	$(ANSIBLE_ENV) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/python sandbox/demo.py $(DEMO_ARGS)

# The same flow on the lab instance (sandbox/lab.py): a Debian userland over SSH, with become.
demo-lab: venv link lab-host
	$(ANSIBLE_ENV) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/python sandbox/demo.py --lab $(DEMO_ARGS)

# What the lab needs on the host, installed from Debian's packages when missing:
# mmdebstrap builds the image, ssh reaches it. The lab runs as root (mount, chroot).
LAB_TOOLS := mmdebstrap:mmdebstrap ssh:openssh-client ssh-keygen:openssh-client unshare:util-linux
lab-host:
	@missing=$$(for pair in $(LAB_TOOLS); do command -v $${pair%%:*} >/dev/null || echo $${pair#*:}; done | sort -u); \
	if [ -n "$$missing" ]; then \
	  echo "== installing the lab's host tools from Debian's packages: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# The benchmark against amazon.aws (bench/README.md); matplotlib only for its chart.
BENCH_ARGS ?=
bench: venv link
	$(VENV)/bin/$(PIP_INSTALL) $(REQUIRE_HASHES) -r requirements/bench.txt
	$(VENV)/bin/python bench/run.py $(BENCH_ARGS)

# Mutation testing (not part of `make test`: it takes long): mutmut from requirements/mutation.txt,
# run in .build/mutation where ansible_collections/keyless/aws links to the checkout, so mutants
# carry the module names the unit tests import (pyproject.toml [tool.mutmut] explains). Prints
# killed/total per file and overall (hack/mutation_score.py). MUTATION_ARGS: e.g. mutant names or
# a glob; then the earlier run's results are kept and only those mutants are tried again, so the
# score printed is of the whole earlier run with them updated (after new tests, say).
MUTATION := $(BUILD)/mutation
MUTATION_ARGS ?=
mutation: venv
	$(VENV)/bin/$(PIP_INSTALL) $(REQUIRE_HASHES) -r requirements/mutation.txt
	@mkdir -p $(MUTATION)/ansible_collections/keyless
	@ln -sfn ../../../.. $(MUTATION)/ansible_collections/keyless/aws
	@ln -sfn ../../pyproject.toml $(MUTATION)/pyproject.toml
	$(if $(MUTATION_ARGS),,rm -rf $(MUTATION)/mutants)
	cd $(MUTATION) && $(CURDIR)/$(VENV)/bin/mutmut run --max-children 2 $(MUTATION_ARGS) >/dev/null || \
	  { rc=$$?; echo "error: mutmut run failed ($$rc)" >&2; exit $$rc; }
	cd $(MUTATION) && $(CURDIR)/$(VENV)/bin/python $(CURDIR)/hack/mutation_score.py

# Re-resolves dev.in, then writes every lock with the sha256 hashes of its files (pip-compile from
# the hashed requirements/lock-tools.txt): the dev locks, then the add-ons for `make bench` and
# `make mutation` at the dev lock's versions, then the lock tools themselves, then the AWS CLI
# the sandbox's instances install (the awscli role's awscli_pip_requirements).
lock:
	hack/lock_requirements.sh $(PY311) 'ansible-core>=2.19,<2.20' $(REQ311)
	@if [ -n "$(PY312)" ]; then hack/lock_requirements.sh $(PY312) 'ansible-core>=2.21,<2.22' $(REQ312); \
	else echo "note: no Python 3.12 found: $(REQ312) left as it is"; fi
	hack/hash_requirements.sh $(PY311) requirements/bench.in requirements/bench.txt $(REQ311)
	hack/hash_requirements.sh $(PY311) requirements/mutation.in requirements/mutation.txt $(REQ311)
	hack/hash_requirements.sh $(PY311) requirements/lock-tools.in requirements/lock-tools.txt
	hack/hash_requirements.sh $(PY311) requirements/awscli.in requirements/awscli.txt

clean:
	rm -rf $(VENV) $(VENV312) .build tests/output .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
