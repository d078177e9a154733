# perfsight: one non-recursive Makefile. `make help` lists the targets.
#
#   make            build build/perfsight
#   make check      unit, golden, robustness and browser tests; ends with "N passed, N failed"
#   make demo       the main job on a bundled capture
#   make check-fresh  make demo (FRESH_CHECK=1: and make check) in a fresh Debian root
#   make SAN=1 ...  the same with ASan + UBSan (objects under build/san)
#   make fuzz       each libFuzzer harness of tests/fuzz/ for FUZZ_SECONDS (clang; build/fuzz)
#   make bench      timings side by side with perf (records big captures on demand)

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
V ?= 0
SAN ?= 0
DEVELOPER ?= $(if $(CI),1,0)

PKGS := libdw libelf libtraceevent libxml-2.0 sqlite3 libzstd yajl libprotobuf-c zlib

ifeq ($(SAN),1)
B := build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else ifeq ($(SAN),fuzz)
# the library instrumented for libFuzzer; each harness is linked with its driver (make fuzz)
B := build/fuzz
CC := clang
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
DEVELOPER := 0
else
B := build
SANFLAGS :=
endif

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wold-style-definition \
	-Wpointer-arith -Wwrite-strings -Wvla -Wformat=2 -Wundef -fno-common -Wno-unused-parameter
ifeq ($(DEVELOPER),1)
WARN += -Werror
endif

# -isystem so warnings in third-party headers cannot break -Werror. Read when make parses this
# file: the targets that install packages first (demo, check, bench) build in a second make,
# started after tests/deps.sh, so that this line sees what deps installed.
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null | sed 's/-I/-isystem /g')
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS ?= -O2 -g
BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(CFLAGS) $(WARN) $(SANFLAGS) \
	-Ianalyzer/lib $(PKG_CFLAGS)
ALL_CFLAGS := $(BASE_CFLAGS) -MMD -MP
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS)
LIBS = $(PKG_LIBS) -lm -lpthread

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC := $(sort $(wildcard analyzer/lib/*.c))
CLI_SRC := $(sort $(wildcard analyzer/cli/*.c))
HELPER_SRC := $(sort $(wildcard tests/helper/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/t_*.c))

# pprof's profile.proto, compiled by protoc-c into $(GEN) (analyzer/proto/README.md)
GEN := $(B)/gen
PROTO_OBJ := $(GEN)/profile.pb-c.o
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o) $(PROTO_OBJ)
CLI_OBJ := $(CLI_SRC:%.c=$(B)/%.o)
HELPER_OBJ := $(HELPER_SRC:%.c=$(B)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(B)/tests/%)
# tests/fuzz/fuzz_NAME.c: a libFuzzer harness (make fuzz), replayed over its corpus and its
# regress inputs by make check through a driver of its own (tests/fuzz/replay.c)
FUZZ_NAMES := $(sort $(basename $(notdir $(wildcard tests/fuzz/fuzz_*.c))))
ifeq ($(SAN),fuzz)
FUZZ_BIN := $(FUZZ_NAMES:%=$(B)/tests/fuzz/%)
else
FUZZ_BIN := $(FUZZ_NAMES:%=$(B)/tests/fuzz/replay-%)
endif
FUZZ_SECONDS ?= 60

LIBA := $(B)/libperfsight.a
BIN := $(B)/perfsight

.PHONY: all check demo deps deps-build deps-demo deps-check deps-bench deps-fuzz bench install \
	clean help format check-format check-headers check-layering check-fresh pkgs fuzz fuzz-bin
all: $(BIN)

# Every object waits for this check, so a missing -dev package is named once, not as a missing
# header in whichever file compiles first.
pkgs:
	@pkg-config --exists $(PKGS) 2>/dev/null && command -v protoc-c >/dev/null 2>&1 || { \
		echo "perfsight: the build needs these pkg-config packages: $(PKGS), and protoc-c" >&2; \
		pkg-config --print-errors --exists $(PKGS) 2>&1 | sed 's/^/  /' >&2; \
		command -v protoc-c >/dev/null 2>&1 || echo "  protoc-c not found (protobuf-c-compiler)" >&2; \
		echo "  run 'make deps-build' as root, or 'make demo' / 'make check', which install them" >&2; \
		exit 1; }

$(LIB_OBJ) $(CLI_OBJ): | pkgs

$(B)/analyzer/%.o: analyzer/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(GEN)/profile.pb-c.c: analyzer/proto/profile.proto | pkgs
	@mkdir -p $(GEN)
	@$(if $(Q),echo "  PROTOC  $<")
	$(Q)protoc-c --c_out=$(GEN) --proto_path=analyzer/proto profile.proto
$(GEN)/profile.pb-c.h: $(GEN)/profile.pb-c.c

# generated code: the project's warnings are not its author's
$(PROTO_OBJ): $(GEN)/profile.pb-c.c
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) -std=gnu11 $(CFLAGS) $(SANFLAGS) $(PKG_CFLAGS) -I$(GEN) -MMD -MP -c -o $@ $<

$(B)/analyzer/lib/pprof.o: $(GEN)/profile.pb-c.h
$(B)/analyzer/lib/pprof.o: ALL_CFLAGS += -I$(GEN)

$(B)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/helper -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIBA)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(LIBA) $(LIBS)

$(UNIT_BIN): $(B)/tests/%: $(B)/tests/unit/%.o $(HELPER_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(HELPER_OBJ) $(LIBA) $(LIBS)

$(TOOL_BIN): $(B)/tests/%: $(B)/tests/tools/%.o $(HELPER_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(HELPER_OBJ) $(LIBA) $(LIBS)

ifeq ($(SAN),fuzz)
$(FUZZ_BIN): $(B)/tests/fuzz/%: $(B)/tests/fuzz/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $< $(LIBA) $(LIBS)
else
$(FUZZ_BIN): $(B)/tests/fuzz/replay-%: $(B)/tests/fuzz/%.o $(B)/tests/fuzz/replay.o $(LIBA)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(B)/tests/fuzz/replay.o $(LIBA) $(LIBS)
endif
fuzz-bin: $(FUZZ_BIN)

# The Debian packages each target needs (tests/deps.sh says which); quiet and quick when they
# are there. DEPS is the installer, replaced by the fresh-build test with one that logs.
DEPS ?= tests/deps.sh
deps: deps-check
deps-build deps-demo deps-check deps-bench deps-fuzz:
	@$(DEPS) $(@:deps-%=%)

# These install first, then build in a second make that reads pkg-config's answers anew (this
# make read them before the packages existed), in order whatever -j says.
check: deps-check
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(TOOL_BIN) $(FUZZ_BIN)
	@B=$(B) SAN=$(SAN) tests/run.sh

# Each harness for FUZZ_SECONDS (FUZZ_JOBS at a time, niced), on a copy of its corpus under
# build/fuzz; what it finds lands in build/fuzz/NAME/ (tests/fuzz/README.md).
fuzz: deps-fuzz
	@$(MAKE) --no-print-directory SAN=fuzz fuzz-bin
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(FUZZ_NAMES)

demo: deps-demo
	@$(MAKE) --no-print-directory all
	@B=$(B) tests/demo.sh

# The README's commands in a fresh minimal Debian root (debootstrap; root and the mirror needed).
check-fresh:
	@sh tests/check-fresh.sh

bench: deps-bench
	@$(MAKE) --no-print-directory all
	@B=$(B) tests/bench.sh

# Each library header compiles on its own (no -MMD: nothing is written).
check-headers:
	@for h in analyzer/lib/*.h; do \
		echo "#include \"$$(basename $$h)\"" | $(CC) $(BASE_CFLAGS) -x c -fsyntax-only - || exit 1; \
	done

# No include goes up a layer of docs/layers.md.
check-layering:
	@sh tests/tools/check-layering.sh

FORMAT_SRC = analyzer/lib/*.[ch] analyzer/cli/*.[ch] tests/unit/*.[ch] tests/helper/*.[ch] \
	tests/tools/*.c tests/fuzz/*.[ch]
format:
	clang-format -i $(FORMAT_SRC)

check-format:
	@clang-format --dry-run -Werror $(FORMAT_SRC)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/perfsight/report-templates
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/perfsight
	install -m 644 docs/perfsight.1 $(DESTDIR)$(PREFIX)/share/man/man1/perfsight.1
	$(if $(wildcard report-templates/*),install -m 644 $(wildcard report-templates/*) $(DESTDIR)$(PREFIX)/share/perfsight/report-templates/)

clean:
	rm -rf build tests/out

help:
	@sed -n '1,9p' Makefile

-include $(shell find $(B) -name '*.d' 2>/dev/null)
