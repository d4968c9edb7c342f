# minibatch: the README's two commands are `make demo` and `make test`; both install what
# they need first (Debian packages through apt-get, Python packages through pip).

SWIFT   ?= swift
PYTHON  ?= python3
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := libopenblas-dev valgrind pkg-config

.PHONY: all deps build demo demo-cli test test-swift test-abi test-c test-python python-deps bench clean

all: build

## deps: the Debian packages the build and the tests need (skipped when present).
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

## build: libminibatch.so and the minibatch-cli demo tool, optimised.
build: deps
	$(SWIFT) build -c release --product minibatch
	$(SWIFT) build -c release --product minibatch-cli

## demo: the main job on the built-in dataset (two moons): trains with batch and with
## mini-batch gradient descent from Python and draws both cost curves into a PNG.
demo: build python-deps
	PYTHONPATH=bindings/python $(PYTHON) -m minibatch.demo --out minibatch-demo.png

## demo-cli: the same comparison from the Swift command-line tool, drawn in the terminal.
demo-cli: build
	.build/release/minibatch-cli demo

## test: every test: Swift engine tests, the library's ABI checks, the C test programs
## under valgrind, the Python tests (memory-limit proof for file datasets).
test: test-swift test-abi test-c test-python
	@echo "all test suites passed"

test-swift: deps
	$(SWIFT) test

test-abi: build
	bash Tests/abi/check_library.sh

test-c: build
	VALGRIND=1 bash Tests/c/run.sh

## python-deps: what the Python binding's demo and tests need, from PyPI (numpy, pytest,
## scikit-learn, matplotlib; the binding itself needs only numpy).
python-deps:
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r bindings/python/requirements-test.txt

## test-python: the binding's tests (including a real `pip install ./bindings/python`, MNIST
## and scikit-learn's estimator checks) and the memory-limit proof for file datasets.
test-python: build python-deps
	$(PYTHON) -m pytest bindings/python/tests Tests/python -q -rs

## bench: the side-by-side benchmark (installs numpy, scikit-learn, matplotlib and a CPU
## build of PyTorch when pip can see one), then training from .npy files against memory.
## BENCH_ARGS=--quick for the two-minute version.
bench: build python-deps
	bash bench/run.sh $(BENCH_ARGS)
	$(PYTHON) bench/files.py $(BENCH_ARGS)

clean:
	rm -rf .build
