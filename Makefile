# mydocker — a daemonless container engine in C.
# make deps | make | make test | make asan | make bench | make format | make lint | make fuzz

CC      ?= gcc
PKGS    := libarchive libcrypto jansson libcap libseccomp libcurl libmnl libnftables
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libarchive, libcurl and libnftables (and the ~40 libraries behind them)
# are dlopen'ed on first use by their shims (base/dlib.h): headers only.
DLOPEN_PKGS := libarchive libcurl libnftables
PKG_LIBS   := $(shell pkg-config --libs $(filter-out $(DLOPEN_PKGS),$(PKGS)) 2>/dev/null)
VERSION := 0.1.0

WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
           -Wvla -Wno-format-truncation -Werror
CFLAGS  ?= -O2 -g
HARDEN  := -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fPIE
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE -I. -MMD -MP $(WARN) $(CFLAGS) $(PKG_CFLAGS) \
             -DMYDOCKER_VERSION='"$(VERSION)"'
LDFLAGS ?=
ALL_LDFLAGS = -pie -Wl,-z,relro,-z,now $(LDFLAGS)

SRC_LIB := $(sort $(wildcard base/*.c image/*.c storage/*.c storage/drivers/*.c \
             runtime/*.c runtime/*/*.c cmd/*.c))
SRC_LIB := $(filter-out cmd/entry.c,$(SRC_LIB))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))

# Normal build in build/, sanitizer build in build-asan/.
B       ?= build
OBJ_LIB  = $(SRC_LIB:%.c=$(B)/%.o) $(B)/monitor/blob.o
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

.PHONY: all deps test unit integration asan bench format format-check lint fuzz clean install

all: mydocker

# The binary users run is stripped: every `run` copies it into a sealed
# memfd (CVE-2019-5736), and 0.7 MB copy and map faster than 2.5 MB
# (~2 ms a run). $(B)/mydocker keeps the debug info for gdb.
mydocker: $(B)/mydocker
	strip -o $@ $<

$(B)/mydocker: $(OBJ_LIB) $(B)/cmd/entry.o
	$(CC) $(ALL_CFLAGS) $(HARDEN) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HARDEN) -c -o $@ $<

$(B)/tests/%: tests/unit/%.c $(OBJ_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HARDEN) $(ALL_LDFLAGS) -o $@ $< $(OBJ_LIB) $(PKG_LIBS) -lcmocka

unit-bins: $(UNIT_BIN) $(B)/mydocker

# The runtime-only test driver (tests/integration/runtime.bats).
include tests/rt_harness.mk

# The per-container monitor (monitor/, see monitor/monitor.h): a small
# static program on libc only, musl's when musl-gcc is there (~30 kB
# resident) else glibc's, embedded into mydocker by monitor/blob.S.
MON_CC  := $(shell command -v musl-gcc 2>/dev/null || echo $(CC))
MON_SRC := $(sort $(wildcard monitor/*.c))
$(B)/monitor/mydocker-monitor: $(MON_SRC) monitor/monitor.h base/err.h base/banned.h
	@mkdir -p $(dir $@)
	$(MON_CC) -std=gnu11 -D_GNU_SOURCE -I. $(WARN) -Os -static -s -o $@ $(MON_SRC)

$(B)/monitor/blob.o: monitor/blob.S $(B)/monitor/mydocker-monitor
	$(CC) -c -DMONITOR_BIN='"$(B)/monitor/mydocker-monitor"' -o $@ $<

# Every build, runtime and test package; idempotent.
DEPS := build-essential pkg-config libarchive-dev libssl-dev libjansson-dev libcap-dev \
        libseccomp-dev libcurl4-openssl-dev libcmocka-dev bats busybox-static tmux util-linux iproute2 \
        zstd xz-utils bzip2 gzip umoci skopeo clang-format cppcheck attr psmisc shellcheck \
        python3 curl wget procps docker-registry apache2-utils podman \
        libmnl-dev libnftables-dev nftables \
        clang libclang-rt-14-dev musl-tools
deps:
	@missing=$$(for p in $(DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	  grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "all dependencies present"; fi

# The default busybox image, built from Debian's busybox-static.
testdata/busybox.tar: testdata/mkbusybox.sh
	sh testdata/mkbusybox.sh $@

# Everything, once with the normal build and once (units and the image/run
# suites) with the ASan+UBSan build; one closing summary line.
test: all testdata/busybox.tar
	$(MAKE) B=$(B) unit-bins
	$(MAKE) asan
	MYDOCKER=$(CURDIR)/$(B)/mydocker UNIT_DIR=$(CURDIR)/$(B)/tests \
	  ASAN_MYDOCKER=$(CURDIR)/build-asan/mydocker ASAN_UNIT_DIR=$(CURDIR)/build-asan/tests \
	  tests/run.sh

# ASan + UBSan build; `make asan test` style: make asan then run tests with it.
asan:
	$(MAKE) B=build-asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  HARDEN="" LDFLAGS="-fsanitize=address,undefined" build-asan/mydocker unit-bins

test-asan: asan testdata/busybox.tar
	MYDOCKER=$(CURDIR)/build-asan/mydocker UNIT_DIR=$(CURDIR)/build-asan/tests \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 tests/run.sh

# Import throughput and run latency beside tar, runc, crun, podman (see
# docs/benchmarks.md). BENCH_ONLY=import|run_latency, N=, RUNS=, BENCH_DIR=.
bench: all testdata/busybox.tar
	MYDOCKER=$(CURDIR)/mydocker bash bench/run.sh

CSRC = $(shell find base cmd image storage runtime tests -name '*.[ch]')
SH_SCRIPTS = $(wildcard .ci/run tests/run.sh tests/integration/helpers.bash tests/lib/hostnet.sh \
               testdata/mkbusybox.sh bench/*.sh)
format:
	clang-format -i $(CSRC)
format-check:
	clang-format --dry-run --Werror $(CSRC)
lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
	  --suppress=missingIncludeSystem --suppress=unknownMacro -I. -D_GNU_SOURCE base cmd image storage runtime
	@! grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|system|popen)\s*\(' \
	  $$(find base cmd image storage runtime -name '*.c') || \
	  { echo "banned function used (see base/banned.h)"; exit 1; }
	@for f in $(SH_SCRIPTS); do bash -n $$f || exit 1; done
	@if command -v shellcheck >/dev/null; then shellcheck -S warning -x $(SH_SCRIPTS); \
	  else echo "shellcheck not installed: shell scripts only syntax-checked"; fi

# libFuzzer targets (clang, ASan+UBSan): tests/fuzz/fuzz_*.c -> build-fuzz/fuzz/.
# Run one with tests/fuzz/run.sh TARGET SECONDS; their corpora are replayed
# by the unit test test_fuzz_corpus. gcc's -Werror build is the warnings gate:
# clang only reports its own extra ones here.
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_BIN := $(patsubst tests/fuzz/%.c,build-fuzz/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
fuzz:
	$(MAKE) B=build-fuzz CC=clang HARDEN=-fPIE LDFLAGS="$(FUZZ_SAN)" \
	  CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $(FUZZ_SAN) \
	  -Wno-unknown-warning-option -Wno-error" $(FUZZ_BIN)

# The parsers and the unpacker live in image/ (on base/ and storage/): the
# targets need neither runtime/ nor cmd/.
FUZZ_OBJ = $(filter $(B)/base/% $(B)/image/% $(B)/storage/%,$(OBJ_LIB))
$(B)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HARDEN) -fsanitize=fuzzer $(ALL_LDFLAGS) -o $@ $< $(FUZZ_OBJ) $(PKG_LIBS)

install: all
	install -m 0755 mydocker /usr/local/bin/mydocker

clean:
	rm -rf build build-asan build-fuzz mydocker testdata/busybox.tar

-include $(shell find build build-asan -name '*.d' 2>/dev/null)
