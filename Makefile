# minibatch: the README's two commands are `make demo` and `make test`; both install what
# they need first (Debian packages through apt-get, Python packages through pip).

SWIFT   ?= swift
PYTHON  ?= python3
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# libxsmm-dev: the JIT matrix kernels (linked statically); libopenblas-dev: the system
# OpenBLAS the benchmark measures beside ours, and its machine probe.
# libopenmpi-dev, openmpi-bin: distributed training (libminibatch_mpi, MiniBatchMPI, mpirun).
APT_PACKAGES := libxsmm-dev libopenblas-dev valgrind pkg-config libopenmpi-dev openmpi-bin

# The general matrix products: OpenBLAS as the scipy-openblas32 wheel packages it, pinned
# by version and hash, unpacked into .build/vendor and shipped beside libminibatch.so.
OPENBLAS_WHEEL_VERSION := 0.3.34.481.3
OPENBLAS_WHEEL := scipy_openblas32-$(OPENBLAS_WHEEL_VERSION)-py3-none-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl
OPENBLAS_WHEEL_SHA256 := 0595f94cd58c1f8a0d90c975621f4587337a003916b1979e834ebdf2cb5d9504
VENDOR := .build/vendor
VENDOR_SO := $(VENDOR)/lib/libscipy_openblas.so

.PHONY: all deps vendor backends fuzz-build fuzz test-fuzz sanitize build mpi demo demo-cli test test-swift test-abi test-c test-python test-mpi python-deps bench bench-mpi clean

all: build

## deps: the Debian packages the build and the tests need (skipped when present).
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

## vendor: the pinned OpenBLAS wheel from PyPI, checked against its hash, unpacked into
## .build/vendor (its library and licence); nothing is installed into Python.
vendor: $(VENDOR_SO)
$(VENDOR_SO):
	@mkdir -p $(VENDOR)/download $(VENDOR)/lib
	$(PYTHON) -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
	  --platform manylinux_2_28_x86_64 --python-version 3.11 --implementation py \
	  -d $(VENDOR)/download scipy-openblas32==$(OPENBLAS_WHEEL_VERSION)
	echo "$(OPENBLAS_WHEEL_SHA256)  $(VENDOR)/download/$(OPENBLAS_WHEEL)" | sha256sum -c --quiet
	cd $(VENDOR) && $(PYTHON) -m zipfile -e download/$(OPENBLAS_WHEEL) wheel
	cp $(VENDOR)/wheel/scipy_openblas32/lib/libscipy_openblas.so $(VENDOR_SO)
	cp $(VENDOR)/wheel/scipy_openblas32-$(OPENBLAS_WHEEL_VERSION).dist-info/licenses/LICENSE.txt $(VENDOR)/lib/LICENSE-OpenBLAS.txt

## Puts the vendored OpenBLAS beside the binaries of a build configuration ($(1): debug or
## release), where their RUNPATH ($$ORIGIN) finds it.
place_openblas = mkdir -p $$($(SWIFT) build -c $(1) --show-bin-path) && \
	cp -p $(VENDOR_SO) $$($(SWIFT) build -c $(1) --show-bin-path)/

## build: libminibatch.so (with libscipy_openblas.so beside it), libminibatch_mpi.so and the
## minibatch-cli tool.
build: deps vendor
	$(call place_openblas,release)
	$(SWIFT) build -c release --product minibatch
	$(SWIFT) build -c release --product minibatch-cli
	$(MAKE) --no-print-directory mpi

## mpi: libminibatch_mpi.so, the mb_communicator over MPI (include/minibatch_mpi.h), beside
## libminibatch.so; it links the system's Open MPI, libminibatch links none.
mpi:
	mpicc -std=c99 -O2 -Wall -Wextra -Werror -shared -fPIC -I include \
	  -Wl,-soname,libminibatch_mpi.so -o .build/release/libminibatch_mpi.so Sources/MiniBatchMPI/C/minibatch_mpi.c

## demo: the main job on the built-in dataset (two moons): trains with batch and with
## mini-batch gradient descent from Python and draws both cost curves into a PNG.
demo: build python-deps
	PYTHONPATH=bindings/python $(PYTHON) -m minibatch_gd.demo --out minibatch-demo.png

## demo-cli: the same comparison from the Swift command-line tool, drawn in the terminal.
demo-cli: build
	.build/release/minibatch-cli demo

## test: every test: Swift engine tests, the library's ABI checks, the C test programs
## under valgrind, the Python tests (memory-limit proof for file datasets).
test: test-swift test-abi test-c test-fuzz test-python test-mpi
	@echo "all test suites passed"

## test-mpi: distributed training over MPI on this machine: the C test programs and the C
## example under mpirun -np 1, 2, 3, 4 (oversubscribed), the Swift example across 1 to 4
## ranks. (The Python ones, bindings/python/tests/test_mpi.py, run in test-python.)
test-mpi: build
	bash Tests/mpi/run.sh .build/release
	$(SWIFT) build -c release --product minibatch-mpi-example
	@for n in 1 2 3 4; do \
	  echo "== Swift example, $$n ranks"; \
	  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 300 \
	    mpirun --oversubscribe -np $$n .build/release/minibatch-mpi-example || exit 1; \
	done

test-swift: deps vendor
	$(call place_openblas,debug)
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
## build of PyTorch when pip can see one), then training from .npy files against memory,
## under the environment's OPENBLAS_CORETYPE and, where that is set, with it unset too
## (results in bench/out/). BENCH_ARGS=--quick for the short version; BENCH_ONE_THREAD=1
## adds W1 on one thread.
bench: build python-deps
	bash bench/run.sh $(BENCH_ARGS)

## bench-mpi: distributed training's collectives and epoch times for 1, 2 and 4 ranks
## (bench/mpi.py; results in bench/out/mpi.txt).
bench-mpi: build
	$(PYTHON) bench/mpi.py $(BENCH_ARGS)

## fuzz: libFuzzer on the engine's readers of untrusted bytes (Tests/Fuzz: model files,
## .npy headers and files), built with -sanitize=fuzzer,address so that coverage of the
## engine guides the search: FUZZ_SECONDS per target (default 60), starting from the
## committed seed corpora (Tests/Fuzz/corpus); new inputs are kept in .build-fuzz/corpus,
## crashes written to .build-fuzz/crashes. FUZZ_RUNS=N stops each after N inputs instead.
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?= -1
FUZZ_TARGETS := fuzz-model-file fuzz-npy fuzz-arguments
FUZZ_BUILD := -c release --build-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING \
	-Xswiftc -enable-testing

fuzz-build: deps vendor
	@mkdir -p .build-fuzz/x86_64-unknown-linux-gnu/release .build-fuzz/crashes
	@cp -p $(VENDOR_SO) .build-fuzz/x86_64-unknown-linux-gnu/release/
	@for t in $(FUZZ_TARGETS); do \
	  echo "building $$t (-sanitize=fuzzer,address)"; \
	  $(SWIFT) build $(FUZZ_BUILD) --product $$t > .build-fuzz/build-$$t.log 2>&1 || \
	    { grep -v 'Cannot export local symbol' .build-fuzz/build-$$t.log | tail -n 30; exit 1; }; \
	done

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  c=$${t#fuzz-}; mkdir -p .build-fuzz/corpus/$$c; \
	  echo "== $$t: $(FUZZ_SECONDS) s, seeds Tests/Fuzz/corpus/$$c"; \
	  .build-fuzz/release/$$t .build-fuzz/corpus/$$c Tests/Fuzz/corpus/$$c -max_total_time=$(FUZZ_SECONDS) \
	    -runs=$(FUZZ_RUNS) -artifact_prefix=.build-fuzz/crashes/$$t- -print_final_stats=1 > .build-fuzz/$$t.log 2>&1; \
	  status=$$?; grep -E '^(#[0-9]+ +DONE|Done|stat::number_of_executed_units|==[0-9]+==ERROR)' .build-fuzz/$$t.log; \
	  if [ $$status -ne 0 ]; then tail -n 40 .build-fuzz/$$t.log; echo "$$t found a crash: .build-fuzz/crashes/"; exit 1; fi; \
	done

## test-fuzz: each fuzz target for 10 seconds on its corpus (part of `make test`).
test-fuzz:
	$(MAKE) fuzz FUZZ_SECONDS=10

## sanitize: the engine's Swift tests under AddressSanitizer (LeakSanitizer included; the
## XCTest runner's own never-freed bookkeeping is suppressed, Tests/sanitize/lsan.supp) and
## under ThreadSanitizer, each in a build folder of its own (.build-address, .build-thread).
## (The C tests run under valgrind in `make test`.)
sanitize: deps vendor
	@for s in address thread; do \
	  mkdir -p .build-$$s/x86_64-unknown-linux-gnu/debug && \
	  cp -p $(VENDOR_SO) .build-$$s/x86_64-unknown-linux-gnu/debug/ && \
	  echo "== swift test --sanitize=$$s" && \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/sanitize/lsan.supp TSAN_OPTIONS=halt_on_error=1 \
	    $(SWIFT) test --sanitize=$$s --build-path .build-$$s || exit 1; \
	done

## backends: single-thread GFLOP/s of every matrix backend here at W1's shapes
## (bench/backends.c: minibatch's, its OpenBLAS and libxsmm alone, Debian's OpenBLAS, oneDNN
## where installed) under the environment's OPENBLAS_CORETYPE and with it unset.
backends: deps vendor
	@mkdir -p .build/bench
	$(CC) -O2 -std=c11 -Wall -Wextra -o .build/bench/backends bench/backends.c Sources/CMatrix/matrix.c \
	  -I Sources/CMatrix/include -L $(VENDOR)/lib -Wl,-rpath,$(CURDIR)/$(VENDOR)/lib -lscipy_openblas \
	  -lxsmm -lxsmmnoblas -ldl -lpthread -lm
	OMP_NUM_THREADS=1 .build/bench/backends
	@if [ -n "$${OPENBLAS_CORETYPE:-}" ]; then echo; OMP_NUM_THREADS=1 env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .build/bench/backends; fi

clean:
	rm -rf .build .build-fuzz .build-address .build-thread
