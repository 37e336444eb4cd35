# Thin wrapper over CMake: the two commands the README starts with, and the
# builds CI runs. Everything real lives in CMakeLists.txt.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
CMAKE_FLAGS ?=

.PHONY: all deps build demo test check test-asan test-tsan clean

all: build

deps:
	@sh scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DAR_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

# Starts the embedded refagent, runs scenarios/, prints the summary, writes results/.
demo: build
	./$(BUILD)/runners/agentrig run scenarios/

# Everything CI runs: the plain build with -Werror, then the whole suite under
# ASan+UBSan, then ThreadSanitizer.
test: check test-asan test-tsan

check: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: deps
	cmake -S . -B build-asan -DAR_WERROR=ON -DAR_SANITIZE=address >/dev/null
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

test-tsan: deps
	cmake -S . -B build-tsan -DAR_WERROR=ON -DAR_SANITIZE=thread >/dev/null
	cmake --build build-tsan -j $(JOBS)
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -j $(JOBS) -L tsan

clean:
	rm -rf build build-asan build-tsan results

# Installs the build: agentrig in $(PREFIX)/bin, refagent in
# $(PREFIX)/libexec/agentrig, docs, man page and bash/zsh completions under
# $(PREFIX)/share. DESTDIR=/staging works as usual for packaging.
PREFIX ?= /usr/local
.PHONY: install
install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)
