# tlstrace build.  build/ is the only output folder.
#
#   make            build/libtlstrace.so and build/tlstrace
#   make check      unit (plain and ASan+UBSan), fuzz smoke, integration,
#                   the stress tool traced under ThreadSanitizer
#   make demo       trace a local mTLS and renegotiation exchange
#   make bench      hook overhead, as ratios against the same run untraced
#   make fuzz       every fuzz target for FUZZ_SECONDS (default 60)
#   make install PREFIX=/usr/local

CC      ?= cc
CLANG   ?= clang
PREFIX  ?= /usr/local
B       := build

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
CFLAGS  ?= -O2 -g
# The decoder's layers, lowest first (docs/architecture.md): each uses
# only those before it (scripts/layers.py checks).
DEC_LAYERS := base conn decrypt session msg handshake record
ALLCFLAGS := -std=gnu11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(DEC_LAYERS:%=-Idecoder/%) -Ishim
SOFLAGS := -fPIC -fvisibility=hidden -ftls-model=initial-exec

DEC_SRC  := $(foreach l,$(DEC_LAYERS),$(wildcard decoder/$(l)/*.c))
SHIM_SRC := $(filter-out shim/launcher.c shim/launch_%.c,$(wildcard shim/*.c))
# The tlstrace command: shim/launcher.c and its shim/launch_*.c, none of
# them in the library.
LAUNCH_SRC := shim/launcher.c $(wildcard shim/launch_*.c)
# Shim modules that are pure enough to unit-test outside a host process.
UNIT_SHIM_SRC := shim/format.c shim/config.c $(wildcard shim/libcrypto*.c)
UNIT_HELP_SRC := $(wildcard tests/unit/helpers/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
HDRS     := $(wildcard decoder/*/*.h decoder/base/tables/*.def shim/*.h shim/*.def tests/unit/helpers/*.h tests/fuzz/*.h)

DEC_OBJ  := $(DEC_SRC:%.c=$(B)/obj/%.o)
SHIM_OBJ := $(SHIM_SRC:%.c=$(B)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/unit/%)
ASAN_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/asan/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(B)/tools/%)
BENCH_BIN := $(B)/bench/bench_io $(B)/bench/bench_tls

UNIT_LIBS := -lcmocka -lssl -lcrypto -ldl -lpthread
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# ThreadSanitizer: the library and the stress tool built with it
# (scripts/check.sh runs the one preloaded into the other).
TSAN := -fsanitize=thread -fno-omit-frame-pointer
TSAN_OBJ := $(DEC_SRC:%.c=$(B)/tsan/obj/%.o) $(SHIM_SRC:%.c=$(B)/tsan/obj/%.o)
TSAN_BIN := $(B)/tsan/libtlstrace.so $(B)/tsan/stress

.PHONY: all check demo bench fuzz install clean deps unit asan fuzz-build tools tsan
all: $(B)/libtlstrace.so $(B)/tlstrace

$(B)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(SOFLAGS) -c $< -o $@

$(B)/libtlstrace.so: $(DEC_OBJ) $(SHIM_OBJ) shim/exports.map
	$(CC) -shared -o $@ $(filter %.o,$^) -ldl -lpthread -Wl,-z,defs -Wl,--version-script=shim/exports.map

$(B)/tsan/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(SOFLAGS) $(TSAN) -c $< -o $@

$(B)/tsan/libtlstrace.so: $(TSAN_OBJ)
	$(CC) -shared $(TSAN) -o $@ $^ -ldl -lpthread -Wl,-z,defs -Wl,--version-script=shim/exports.map

$(B)/tlstrace: $(LAUNCH_SRC) $(HDRS)
	@mkdir -p $(B)
	$(CC) $(ALLCFLAGS) -o $@ $(LAUNCH_SRC)

$(B)/unit/%: tests/unit/%.c $(DEC_SRC) $(UNIT_SHIM_SRC) $(UNIT_HELP_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -Itests/unit/helpers -o $@ $< $(DEC_SRC) $(UNIT_SHIM_SRC) $(UNIT_HELP_SRC) $(UNIT_LIBS)

$(B)/asan/%: tests/unit/%.c $(DEC_SRC) $(UNIT_SHIM_SRC) $(UNIT_HELP_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(SAN) -Itests/unit/helpers -o $@ $< $(DEC_SRC) $(UNIT_SHIM_SRC) $(UNIT_HELP_SRC) $(UNIT_LIBS)

$(B)/fuzz/%: tests/fuzz/%.c $(DEC_SRC) $(UNIT_SHIM_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(ALLCFLAGS) -Itests/unit/helpers -Wno-unused-command-line-argument -fsanitize=fuzzer,address,undefined -o $@ $< $(DEC_SRC) $(UNIT_SHIM_SRC) $(FUZZ_EXTRA) -ldl -lpthread

# fuzz_decrypt takes its keys from a key log, with libcrypto linked directly.
FUZZ_DECRYPT_SRC := tests/unit/helpers/testkeys.c tests/unit/helpers/ossl_crypto.c
$(B)/fuzz/fuzz_decrypt: $(FUZZ_DECRYPT_SRC)
$(B)/fuzz/fuzz_decrypt: FUZZ_EXTRA := $(FUZZ_DECRYPT_SRC) -lcrypto

$(B)/tools/%: tests/tools/%.c $(DEC_SRC) $(UNIT_SHIM_SRC) $(UNIT_HELP_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -Itests/unit/helpers -o $@ $< $(DEC_SRC) $(UNIT_SHIM_SRC) $(UNIT_HELP_SRC) -lssl -lcrypto -ldl -lpthread

# The stress tool alone (it needs none of the decoder), instrumented.
$(B)/tsan/stress: tests/tools/stress.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(TSAN) -o $@ $< -lssl -lcrypto -lpthread

# bench_tls uses OpenSSL; --as-needed keeps it out of bench_io's process.
$(B)/bench/%: tests/bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -O2 -o $@ $< -Wl,--as-needed -lssl -lcrypto -lpthread

unit: $(UNIT_BIN)
asan: $(ASAN_BIN)
fuzz-build: $(FUZZ_BIN)
tools: $(TOOL_BIN)
tsan: $(TSAN_BIN)

deps:
	@bash scripts/deps.sh

check: deps
	@$(MAKE) --no-print-directory all unit asan fuzz-build tools tsan
	@bash scripts/check.sh

demo: deps
	@$(MAKE) --no-print-directory all tools
	@bash scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN) tools
	@bash scripts/bench.sh

FUZZ_SECONDS ?= 60
fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@bash scripts/fuzz.sh $(FUZZ_SECONDS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/tlstrace
	install -m 0755 $(B)/libtlstrace.so $(DESTDIR)$(PREFIX)/lib/tlstrace/libtlstrace.so
	install -m 0755 $(B)/tlstrace $(DESTDIR)$(PREFIX)/bin/tlstrace

clean:
	rm -rf $(B)
