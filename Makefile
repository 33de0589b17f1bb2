# A thin wrapper over meson: installs what is missing, configures, builds.
BUILD ?= build
ASAN_BUILD ?= build-san
MESON_ARGS ?=

.PHONY: all deps build test test-fast test-san demo bench clean

all: build

deps:
	@scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_ARGS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# The sanitizer build also has the fast path's debug checks (double frees,
# frees into the wrong pool, refcounts, queue ids), so the whole suite runs
# under them too and their death tests run.
$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug \
	  -Ddebug_checks=true $(MESON_ARGS)

# The whole suite, then again under ASan and UBSan (with debug_checks).
test: build $(ASAN_BUILD)/build.ninja
	meson test -C $(BUILD) --print-errorlogs --no-rebuild --suite unit --suite integration || { echo "weir: tests failed (build: $(BUILD))"; exit 1; }
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  meson test -C $(ASAN_BUILD) --print-errorlogs --no-rebuild --suite unit --suite integration || { echo "weir: sanitizer tests failed (build: $(ASAN_BUILD))"; exit 1; }
	@scripts/summary.sh $(BUILD) $(ASAN_BUILD)

test-fast: build
	meson test -C $(BUILD) --print-errorlogs --no-rebuild --suite unit

demo: build
	scripts/demo.sh $(BUILD)

bench: build
	scripts/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
