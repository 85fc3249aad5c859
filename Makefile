# customs: one binary, modules as static libraries, tests beside them.
# `make` builds build/customs; `make test` installs what is missing and runs
# every test; `make run` serves on 127.0.0.1:5000 with data under ./var;
# `make install` (PREFIX, DESTDIR) installs the binary, man pages, the
# systemd unit and an example config.

CC ?= cc
BUILD ?= build
PKGS := libevent libevent_openssl libevent_pthreads openssl jansson sqlite3 libseccomp \
	libarchive libcurl yajl libpq libxml-2.0
TEST_PKGS := cmocka

# Debian packages: what building and running need (`make run`), then
# what only the tests need (`make test`): the clients they drive, and the
# tools that check the man pages, the unit and the Debian package.
DEB_BUILD := build-essential pkg-config libevent-dev libssl-dev \
	libjansson-dev libsqlite3-dev libarchive-dev libcurl4-openssl-dev \
	libhttp-parser-dev libseccomp-dev libyajl-dev libpq-dev libxml2-dev ca-certificates
DEB_TEST := libcmocka-dev curl jq skopeo podman docker-registry docker.io \
	buildah umoci containerd python3-prometheus-client \
	xz-utils zstd apache2-utils openssl ca-certificates procps psmisc \
	golang-go python3-jsonschema zip time sqlite3 nodejs libpython3-dev \
	debhelper dpkg-dev fakeroot lintian man-db groff systemd debootstrap iproute2 \
	postgresql ceph-mon ceph-osd radosgw ceph-common haproxy \
	chromium chromium-driver python3-selenium clang-format

VERSION ?= 0.1.0
COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

# make install: PREFIX for the program, /etc and /var for its data.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
SYSCONFDIR ?= /etc
STATEDIR ?= /var/lib/customs

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
ALL_CFLAGS = $(CFLAGS_STD) -I. $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS)
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

.PHONY: all deps deps-build run test test-all format-check test-rest test-asan unit unit-pg integration integration-dist conformance conformance-distributed conformance-reference \
	bench bench-quick format clean check-deps install man FORCE
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

# version.mk changes only when VERSION or COMMIT do, so main.o is rebuilt
# then and only then.
$(BUILD)/version.mk: FORCE
	@mkdir -p $(dir $@)
	@v='VERSION_DEFS := -DCUSTOMS_VERSION=\"$(VERSION)\" -DCUSTOMS_COMMIT=\"$(COMMIT)\"'; \
	[ "$$(cat $@ 2>/dev/null)" = "$$v" ] || echo "$$v" > $@
-include $(BUILD)/version.mk
$(BUILD)/registry/main.o: ALL_CFLAGS += $(VERSION_DEFS)
$(BUILD)/registry/main.o: $(BUILD)/version.mk

$(BUILD)/customs: $(BUILD)/registry/main.o $(LIBS)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBS) $(ALL_LIBS) $(LDFLAGS)

$(BUILD)/tests/%: tests/unit/%.c $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -MMD -MP -o $@ $< $(LIBS) \
		$(ALL_LIBS) $(TEST_LIBS) $(LDFLAGS) $(UNIT_LDFLAGS_$*)

# Installs the Debian packages that are missing (needs root, as on a fresh
# machine); does nothing when all are there.  deps-build: only those that
# building and running need.
deps: DEB_WANT = $(DEB_BUILD) $(DEB_TEST)
deps-build: DEB_WANT = $(DEB_BUILD)
deps deps-build:
	@missing=""; for p in $(DEB_WANT); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
			grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	fi

run: deps-build
	$(MAKE) all
	mkdir -p var
	@echo "customs: data in $(CURDIR)/var; serving http://127.0.0.1:5000/v2/"
	@echo "  stop it with Ctrl-C (SIGINT) or SIGTERM"
	@echo "  vulnerability data: ./$(BUILD)/customs db update --data ./var  (downloads the public feeds),"
	@echo "    or offline: ./$(BUILD)/customs db import --data ./var FILE...; then kill -HUP the server"
	./$(BUILD)/customs serve --listen 127.0.0.1:5000 --data ./var

# The man pages: prose in dist/*.in, option lists from the binary's own
# --help, so they cannot drift apart.
MAN_PAGES := $(BUILD)/man/customs.1 $(BUILD)/man/customs-config.5
man: $(MAN_PAGES)
$(BUILD)/man/%: dist/%.in dist/mkman $(BUILD)/customs
	@mkdir -p $(dir $@)
	dist/mkman $(BUILD)/customs $(VERSION) < $< > $@.tmp && mv $@.tmp $@

# The unit and sysusers file name the installed paths.
SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	-e 's|@STATEDIR@|$(STATEDIR)|g'

# The example config is installed only where none is, so an operator's
# edits survive a reinstall.
install: $(BUILD)/customs man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(SYSCONFDIR)/customs
	install -m 755 $(BUILD)/customs $(DESTDIR)$(BINDIR)/customs
	install -m 644 $(BUILD)/man/customs.1 $(DESTDIR)$(MANDIR)/man1/customs.1
	install -m 644 $(BUILD)/man/customs-config.5 \
		$(DESTDIR)$(MANDIR)/man5/customs-config.5
	$(SUBST) dist/customs.service.in > $(DESTDIR)$(UNITDIR)/customs.service
	chmod 644 $(DESTDIR)$(UNITDIR)/customs.service
	$(SUBST) dist/customs.sysusers.in > $(DESTDIR)$(SYSUSERSDIR)/customs.conf
	chmod 644 $(DESTDIR)$(SYSUSERSDIR)/customs.conf
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/customs/customs.json ]; then \
		echo "keeping $(DESTDIR)$(SYSCONFDIR)/customs/customs.json"; \
	else \
		$(SUBST) dist/customs.json.in > $(DESTDIR)$(SYSCONFDIR)/customs/customs.json; \
		chmod 644 $(DESTDIR)$(SYSCONFDIR)/customs/customs.json; \
	fi

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do \
		echo "== $$t"; $$t || fail=1; \
	done; exit $$fail

# The storage suites once more, on a throw-away PostgreSQL (tests/pgtemp;
# see tests/unit/tmpstore.h).
PG_UNIT_BINS := $(addprefix $(BUILD)/tests/,test_storage test_scanq test_gc test_fsck test_events)
unit-pg: $(PG_UNIT_BINS)
	@d=$$(mktemp -d "$${TMPDIR:-/tmp}/customs-pg.XXXXXX"); \
	ci=$$(tests/pgtemp start "$$d") || { rm -rf "$$d"; exit 1; }; \
	fail=0; for t in $(PG_UNIT_BINS); do \
		echo "== $$t (PostgreSQL)"; \
		CUSTOMS_TEST_PG="$$ci" $$t || fail=1; \
	done; tests/pgtemp stop "$$d"; rm -rf "$$d"; exit $$fail

integration: all
	BUILD=$(BUILD) JOBS=$${JOBS:-2} tests/integration/run

# The same suite with every server on S3 (Ceph RGW) + PostgreSQL, both
# shared by the run (tests/with-dist; see tests/integration/lib.sh).  Three
# at a time: on this backend a test mostly waits on S3 and PostgreSQL.
integration-dist: all
	CUSTOMS_TEST_BACKEND=dist BUILD=$(BUILD) JOBS=$${DIST_JOBS:-3} \
		tests/with-dist tests/integration/run

conformance: all
	conformance/run-local $(BUILD)/customs

# The same suite against a node on S3 (Ceph RGW) + PostgreSQL.
conformance-distributed: all
	conformance/run-distributed $(BUILD)/customs

conformance-reference:
	conformance/run-reference

# Without SANITIZE, `make test` also runs every fuzz target briefly and the
# unit and integration tests on an ASan/UBSan build (build-asan/).
# One RADOS Gateway and one PostgreSQL serve every S3 and PostgreSQL test
# of the run (tests/with-dist).
test: deps
	tests/with-dist $(MAKE) test-all

test-all:
	$(MAKE) format-check
	$(MAKE) all $(UNIT_BINS)
	$(MAKE) unit
	$(MAKE) unit-pg
	$(MAKE) integration
ifndef SANITIZE
	$(MAKE) -j2 --output-sync=target integration-dist test-rest
else
	$(MAKE) test-rest
endif

# What follows the fs pass; beside the S3 + PostgreSQL pass, which mostly
# waits on RGW and PostgreSQL (each target's output is shown when it ends).
test-rest:
	$(MAKE) conformance
	$(MAKE) conformance-distributed
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

# The tree as `make format` leaves it (the style guide's layout, .clang-format).
format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
