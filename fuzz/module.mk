# fuzz/: libFuzzer targets, one per parser (fuzz/fuzz_<name>.c).
#
#   make fuzz [FUZZ_SECONDS=N] [FUZZ_TARGETS="http osv"]
#       builds every target with clang -fsanitize=fuzzer,address,undefined
#       into build-fuzz/ and runs each for N seconds (default 60); prints
#       executions per target; fails if any input crashed
#   make fuzz-smoke     the same for FUZZ_SMOKE_SECONDS (default 5) each
#   make fuzz-regress   replays fuzz/corpus/ (hand-written seeds and every
#       crash found) through each target built with the normal compiler
#       and driver.c: no clang needed; add SANITIZE=address,undefined
#
# Seeds are fuzz/corpus/<name>/ and what fuzz/seeds.sh takes from
# tests/data/.  What the fuzzer finds goes to build-fuzz/corpus/<name>/,
# crashes to build-fuzz/crashes/ (copy one into fuzz/corpus/<name>/ once
# fixed: it then runs in fuzz-regress for good).

FUZZ_CC ?= clang
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_NAMES := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_NAMES)
# Debian packages `make fuzz` needs beyond DEB_BUILD (seeds.sh uses
# sqlite3 and xz to take rpm headers out of the rpmdb fixture).
DEB_FUZZ := clang libclang-rt-14-dev sqlite3 xz-utils
# clang's -Wformat=2 also flags the va_list forwarders gcc accepts.
FUZZ_CFLAGS := -fsanitize=fuzzer-no-link -Wno-format-nonliteral

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-deps fuzz-regress fuzz-bins \
	fuzz-regress-bins

fuzz-deps:
	@missing=""; for p in $(DEB_BUILD) $(DEB_FUZZ); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
			grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The module libraries are built again with clang's coverage hooks
# (fuzzer-no-link); only the targets link libFuzzer itself.
fuzz-build: fuzz-deps
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) SANITIZE=address,undefined \
		CFLAGS="$(FUZZ_CFLAGS)" FUZZ_LINK=-fsanitize=fuzzer \
		fuzz-bins

# What libFuzzer found is then replayed by the driver build, where the
# detectors' targets run inside the scan workers' sandbox.
fuzz: fuzz-build
	$(MAKE) FUZZ_LINK=fuzz/driver.c fuzz-regress-bins
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_REPLAY=$(BUILD)/fuzz-regress \
		fuzz/run $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	$(MAKE) FUZZ_LINK=fuzz/driver.c fuzz-regress-bins
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_REPLAY=$(BUILD)/fuzz-regress \
		fuzz/run $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

fuzz-regress:
	$(MAKE) FUZZ_LINK=fuzz/driver.c fuzz-regress-bins
	@fail=0; for t in $(FUZZ_NAMES); do \
		$(BUILD)/fuzz-regress/fuzz_$$t fuzz/corpus/$$t || fail=1; \
	done; exit $$fail

fuzz-bins: $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))
fuzz-regress-bins: $(patsubst %,$(BUILD)/fuzz-regress/fuzz_%,$(FUZZ_NAMES))

FUZZ_DEPS = fuzz/driver.c $(wildcard fuzz/*.h) $(LIBS)

$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(FUZZ_LINK) $(LIBS) $(ALL_LIBS) $(LDFLAGS)

$(BUILD)/fuzz-regress/fuzz_%: fuzz/fuzz_%.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(FUZZ_LINK) $(LIBS) $(ALL_LIBS) $(LDFLAGS)
