# customs: one binary, modules as static libraries, tests beside them.
# `make` builds build/customs; `make test` installs what is missing and runs
# every test; `make run` serves on 127.0.0.1:5000 with data under ./var.

CC ?= cc
BUILD ?= build
PKGS := libevent libevent_openssl libevent_pthreads openssl jansson sqlite3 libseccomp \
	libarchive libcurl yajl
TEST_PKGS := cmocka

# Debian packages: libraries, then the clients the tests drive.
DEB_BUILD := build-essential pkg-config libevent-dev libssl-dev \
	libjansson-dev libsqlite3-dev libarchive-dev libcurl4-openssl-dev \
	libcmocka-dev libhttp-parser-dev libseccomp-dev libyajl-dev
DEB_TEST := curl jq skopeo podman docker-registry docker.io xz-utils zstd \
	apache2-utils openssl ca-certificates procps psmisc \
	golang-go python3-jsonschema zip time

CFLAGS_STD := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O2 \
	-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla -Wwrite-strings -pthread
ifdef SANITIZE
CFLAGS_STD += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -O1
LDFLAGS += -fsanitize=$(SANITIZE)
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_CFLAGS = $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)
ALL_CFLAGS = $(CFLAGS_STD) -I. $(PKG_CFLAGS) $(CFLAGS)
ALL_LIBS = $(PKG_LIBS) -lhttp_parser -lcrypt -lm

# Link order: a module only uses the ones after it.  A module's library
# takes its subfolders too (registry/http/, registry/proxy/, registry/scan/).
MODULES := registry auth scanner storage common
define module_srcs
$(filter-out registry/main.c,$(wildcard $(1)/*.c $(1)/*/*.c))
endef
LIBS := $(foreach m,$(MODULES),$(if $(call module_srcs,$(m)),$(BUILD)/lib$(m).a))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all deps run test test-asan unit integration conformance conformance-reference \
	bench bench-quick format clean check-deps
all: $(BUILD)/customs

# Per-module extras (extra objects, test link flags) live beside the code.
-include $(wildcard */module.mk)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

define module_lib
$(BUILD)/lib$(1).a: $(patsubst %.c,$(BUILD)/%.o,$(call module_srcs,$(1)))
	@mkdir -p $$(dir $$@)
	rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_lib,$(m))))

$(BUILD)/customs: $(BUILD)/registry/main.o $(LIBS)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBS) $(ALL_LIBS) $(LDFLAGS)

$(BUILD)/tests/%: tests/unit/%.c $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -MMD -MP -o $@ $< $(LIBS) \
		$(ALL_LIBS) $(TEST_LIBS) $(LDFLAGS) $(UNIT_LDFLAGS_$*)

# Installs the Debian packages that are missing (needs root, as on a fresh
# machine); does nothing when all are there.
deps:
	@missing=""; for p in $(DEB_BUILD) $(DEB_TEST); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
			grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	fi

run: deps
	$(MAKE) all
	mkdir -p var
	./$(BUILD)/customs serve --listen 127.0.0.1:5000 --data ./var

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do \
		echo "== $$t"; $$t || fail=1; \
	done; exit $$fail

integration: all
	BUILD=$(BUILD) tests/integration/run

conformance: all
	conformance/run-local $(BUILD)/customs

conformance-reference:
	conformance/run-reference

# Without SANITIZE, `make test` also runs every fuzz target briefly and the
# unit and integration tests on an ASan/UBSan build (build-asan/).
test: deps
	$(MAKE) all $(UNIT_BINS)
	$(MAKE) unit
	$(MAKE) integration
	$(MAKE) conformance
	$(MAKE) conformance-reference
ifndef SANITIZE
	$(MAKE) fuzz-smoke
	$(MAKE) test-asan
endif

test-asan:
	$(MAKE) SANITIZE=address,undefined BUILD=build-asan all \
		$(patsubst $(BUILD)/%,build-asan/%,$(UNIT_BINS))
	$(MAKE) SANITIZE=address,undefined BUILD=build-asan unit
	$(MAKE) SANITIZE=address,undefined BUILD=build-asan integration

bench: deps all
	bench/run

bench-quick: deps all
	bench/run --quick

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
