# tlstrace build.  build/ is the only output folder.
#
#   make            build/libtlstrace.so and build/tlstrace
#   make check      unit (plain and ASan+UBSan), fuzz smoke, integration,
#                   the stress tool traced under ThreadSanitizer, the
#                   decoder's layers, the clang-format check
#   make demo       trace a local mTLS and renegotiation exchange
#   make bench      cost of tracing beside strace and dumpcap, as ratios against
#                   the same workloads untraced (build/bench/results.md)
#   make fuzz       every fuzz target for FUZZ_SECONDS (default 60), FUZZ_JOBS
#                   at a time (default 1); FUZZ_TARGETS="fuzz_dn ..." only those
#   make format     clang-format -i over the C sources and headers
#   make compdb     build/compile_commands.json, linked from the top
#                   (every build target writes it too)
#   make install PREFIX=/usr/local

CC      ?= cc
CLANG   ?= clang
PREFIX  ?= /usr/local
B       := build

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
CFLAGS  ?= -O2 -g
# The decoder's layers, lowest first (docs/architecture.md): each uses
# only those before it (scripts/layers.py checks).
DEC_LAYERS := base conn decrypt session msg handshake starttls record
# NSPR's headers, which NSS's (<nss/ssl.h>, for shim/nss.c) include by
# their bare names.
ALLCFLAGS := -std=gnu11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(DEC_LAYERS:%=-Idecoder/%) -Ishim -isystem /usr/include/nspr
SOFLAGS := -fPIC -fvisibility=hidden -ftls-model=initial-exec
comma := ,
empty :=
space := $(empty) $(empty)
define nl


endef

# Every compile also writes the list of headers it read (.d beside its
# output, included below): touching a header rebuilds what includes it.
DEPFLAGS := -MMD -MP

DEC_SRC  := $(foreach l,$(DEC_LAYERS),$(wildcard decoder/$(l)/*.c))
SHIM_SRC := $(filter-out shim/launcher.c shim/launch_%.c shim/inject.c,$(wildcard shim/*.c))
# The tlstrace command: shim/launcher.c, its shim/launch_*.c and the
# injector of -p (shim/inject.c), none of them in the library.
LAUNCH_SRC := shim/launcher.c $(wildcard shim/launch_*.c) shim/inject.c shim/privfile.c
# Shim modules that are pure enough to unit-test outside a host process.
UNIT_SHIM_SRC := shim/format.c shim/config.c shim/privfile.c $(wildcard shim/libcrypto*.c) shim/zlib.c shim/guestlib.c \
		 shim/keys.c shim/log.c shim/real.c shim/ptrmap.c shim/got.c
UNIT_HELP_SRC := $(wildcard tests/unit/helpers/*.c)
# fuzz_decrypt takes its keys from a key log, with libcrypto linked directly;
# fuzz_cbc seals and opens records with it.
FUZZ_HELP_SRC := tests/unit/helpers/testkeys.c tests/unit/helpers/ossl_crypto.c
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
# tests/tools/inject_lib.c is a shared library (TOOL_SO), not a program.
TOOL_SRC := $(filter-out tests/tools/inject_lib.c,$(wildcard tests/tools/*.c))
TOOL_SO := $(B)/tools/inject_lib.so
BENCH_SRC := tests/bench/bench_io.c tests/bench/bench_tls.c

UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/unit/%)
ASAN_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/asan/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(B)/tools/%)
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(B)/bench/%)

# zlib: the compressed exchanges of test_inflate are made with deflate.
UNIT_LIBS := -lcmocka -lssl -lcrypto -lz -ldl -lpthread
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# ThreadSanitizer: the library and the stress tool built with it
# (scripts/check.sh runs the one preloaded into the other).
TSAN := -fsanitize=thread -fno-omit-frame-pointer
FUZZ_SAN := address,undefined
TSAN_BIN := $(B)/tsan/libtlstrace.so $(B)/tsan/stress

.PHONY: all check demo bench fuzz install clean deps unit asan fuzz-build tools tsan format compdb
all: $(B)/libtlstrace.so $(B)/tlstrace compdb

# Configurations.  Each compiles every source it needs once, into its own
# object folder, with one command (CMD_x):
#   lib    build/obj       the library: decoder and shim.  The plain unit
#                          tests and the tools link these same objects:
#                          -fPIC and hidden visibility change nothing in a
#                          static link into a program, and the tests then
#                          run the code that ships.
#   test   build/test/obj  plain unit tests, their helpers, the tools
#   asan   build/asan/obj  decoder, unit-tested shim modules, helpers and
#                          unit tests under ASan+UBSan
#   fuzz   build/fuzz/obj  the same for the fuzz targets: clang, libFuzzer's
#                          instrumentation (the targets link libFuzzer)
#   tsan   build/tsan/obj  the library under ThreadSanitizer
#   prog   build/prog/obj  the launcher, build/tlstrace (shim/launcher.c
#                          and shim/launch_*.c)
# and the programs of one source, compiled and linked in one command:
#   bench  build/bench/*
#   stress build/tsan/stress (ThreadSanitizer, none of the decoder)
CONFIGS := lib test asan fuzz tsan prog bench stress
OBJDIR_lib  := $(B)/obj
OBJDIR_test := $(B)/test/obj
OBJDIR_asan := $(B)/asan/obj
OBJDIR_fuzz := $(B)/fuzz/obj
OBJDIR_tsan := $(B)/tsan/obj
OBJDIR_prog := $(B)/prog/obj
CMD_lib    := $(CC) $(ALLCFLAGS) $(SOFLAGS)
CMD_test   := $(CC) $(ALLCFLAGS) -Itests/unit/helpers
CMD_asan   := $(CC) $(ALLCFLAGS) $(SAN) -Itests/unit/helpers
CMD_fuzz   := $(CLANG) $(ALLCFLAGS) -Itests/unit/helpers -Wno-unused-command-line-argument -fsanitize=fuzzer-no-link,$(FUZZ_SAN)
CMD_tsan   := $(CC) $(ALLCFLAGS) $(SOFLAGS) $(TSAN)
CMD_prog   := $(CC) $(ALLCFLAGS)
CMD_bench  := $(CC) $(ALLCFLAGS) -O2
CMD_stress := $(CC) $(ALLCFLAGS) $(TSAN)

# The one-source programs: $(call out_CONFIG,source) and their link flags.
out_bench = $(1:tests/bench/%.c=$(B)/bench/%)
out_stress = $(B)/tsan/stress
LINK_prog := $(LDFLAGS)
# bench_tls uses OpenSSL; --as-needed keeps it out of bench_io's process.
LINK_bench := $(LDFLAGS) -Wl,--as-needed -lssl -lcrypto -lpthread
LINK_stress := $(LDFLAGS) -lssl -lcrypto -lpthread

# $(call obj,config,sources): their objects in that configuration
obj = $(patsubst %.c,$(OBJDIR_$(1))/%.o,$(2))
# The commands, shared by the rules and build/compile_commands.json:
# $(call cc_obj,config,source,object) and
# $(call cc_prog,config,source)
cc_obj = $(CMD_$(1)) $(DEPFLAGS) -c $(2) -o $(3)
cc_prog = $(CMD_$(1)) $(DEPFLAGS) -MF $(call out_$(1),$(2)).d -MT $(call out_$(1),$(2)) -o $(call out_$(1),$(2)) $(2) $(LINK_$(1))

# Each configuration's command (and link flags) is kept in
# build/flags/CONFIG, rewritten here only when it changed (CFLAGS=...,
# CC=..., a flag above): what was built with it depends on that file, so
# it is rebuilt rather than mixed with objects compiled otherwise.  (Not
# under make -n, which changes nothing.)
FLAGS = $(B)/flags/$(1)
flagtext = $(strip $(CMD_$(1)) $(LINK_$(1)))
define check_flags
ifneq ($(wildcard $(call FLAGS,$(1))),)
ifneq ($$(strip $$(file <$(call FLAGS,$(1)))),$$(call flagtext,$(1)))
$$(file >$(call FLAGS,$(1)),$$(call flagtext,$(1)))
endif
endif
endef
ifeq ($(findstring n,$(firstword -$(MAKEFLAGS))),)
$(foreach c,$(CONFIGS),$(eval $(call check_flags,$(c))))
endif
FLAG_FILES := $(foreach c,$(CONFIGS),$(call FLAGS,$(c)))
$(FLAG_FILES): $(B)/flags/%:
	$(shell mkdir -p $(@D))$(file >$@,$(call flagtext,$*))

define objects_rule
$$(OBJDIR_$(1))/%.o: %.c $$(call FLAGS,$(1))
	@mkdir -p $$(@D)
	$$(call cc_obj,$(1),$$<,$$@)
endef
$(foreach c,lib test asan fuzz tsan prog,$(eval $(call objects_rule,$(c))))

# Static archives, one set per configuration: the decoder, the shim
# modules the tests reach (UNIT_SHIM_SRC), the test helpers.  A program
# links its own objects, then the helpers, the shim modules, the decoder:
# each archive uses only those after it, and the linker takes from each
# only the members the program needs.
UNIT_A := $(B)/libtt_helpers.a $(B)/libtt_shim_unit.a $(B)/libtt_decoder.a
ASAN_A := $(B)/asan/libtt_helpers.a $(B)/asan/libtt_shim_unit.a $(B)/asan/libtt_decoder.a
FUZZ_A := $(B)/fuzz/libtt_helpers.a $(B)/fuzz/libtt_shim_unit.a $(B)/fuzz/libtt_decoder.a
$(B)/libtt_helpers.a: $(call obj,test,$(UNIT_HELP_SRC))
$(B)/libtt_shim_unit.a: $(call obj,lib,$(UNIT_SHIM_SRC))
$(B)/libtt_decoder.a: $(call obj,lib,$(DEC_SRC))
$(B)/asan/libtt_helpers.a: $(call obj,asan,$(UNIT_HELP_SRC))
$(B)/asan/libtt_shim_unit.a: $(call obj,asan,$(UNIT_SHIM_SRC))
$(B)/asan/libtt_decoder.a: $(call obj,asan,$(DEC_SRC))
$(B)/fuzz/libtt_helpers.a: $(call obj,fuzz,$(FUZZ_HELP_SRC))
$(B)/fuzz/libtt_shim_unit.a: $(call obj,fuzz,$(UNIT_SHIM_SRC))
$(B)/fuzz/libtt_decoder.a: $(call obj,fuzz,$(DEC_SRC))
$(UNIT_A) $(ASAN_A) $(FUZZ_A):
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(B)/libtlstrace.so: $(call obj,lib,$(DEC_SRC) $(SHIM_SRC)) shim/exports.map
	$(CC) -shared $(LDFLAGS) -o $@ $(filter %.o,$^) -ldl -lpthread -Wl,-z,defs -Wl,--version-script=shim/exports.map

$(B)/tsan/libtlstrace.so: $(call obj,tsan,$(DEC_SRC) $(SHIM_SRC)) shim/exports.map
	$(CC) -shared $(TSAN) $(LDFLAGS) -o $@ $(filter %.o,$^) -ldl -lpthread -Wl,-z,defs -Wl,--version-script=shim/exports.map

$(B)/tlstrace: $(call obj,prog,$(LAUNCH_SRC))
	@mkdir -p $(@D)
	$(CC) $(LINK_prog) -o $@ $^

$(UNIT_BIN): $(B)/unit/%: $(call obj,test,tests/unit/%.c) $(UNIT_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(UNIT_LIBS)

$(ASAN_BIN): $(B)/asan/%: $(call obj,asan,tests/unit/%.c) $(ASAN_A)
	@mkdir -p $(@D)
	$(CC) $(SAN) $(LDFLAGS) -o $@ $^ $(UNIT_LIBS)

$(FUZZ_BIN): $(B)/fuzz/%: $(call obj,fuzz,tests/fuzz/%.c) $(FUZZ_A)
	@mkdir -p $(@D)
	$(CLANG) -fsanitize=fuzzer,$(FUZZ_SAN) $(LDFLAGS) -o $@ $^ $(FUZZ_LIBS) -ldl -lpthread
$(B)/fuzz/fuzz_decrypt $(B)/fuzz/fuzz_cbc: FUZZ_LIBS := -lcrypto

TOOL_LIBS := -lssl -lcrypto
$(TOOL_BIN): $(B)/tools/%: $(call obj,test,tests/tools/%.c) $(UNIT_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(TOOL_LIBS) -ldl -lpthread
# clients of other TLS libraries, for their key capture
$(B)/tools/mbedtls_client: TOOL_LIBS := -lmbedtls -lmbedx509 -lmbedcrypto
$(B)/tools/wolfssl_client: TOOL_LIBS := -lwolfssl
$(B)/tools/gnutls_keylog: TOOL_LIBS := -lgnutls
$(B)/tools/nss_client: TOOL_LIBS := -lssl3 -lnss3 -lnspr4
# OpenSSL linked in statically: the SSL_new hook never sees its sessions,
# so their secrets come only from a key log file
$(B)/tools/static_client: TOOL_LIBS := -Wl,-Bstatic -lssl -lcrypto -Wl,-Bdynamic
# the launcher's injector (and the ELF inspection it asks), driven alone
$(B)/tools/injectctl: $(call obj,prog,shim/inject.c shim/launch_elf.c shim/launch_common.c)
# the library injectctl loads into tests/tools/inject_host
$(TOOL_SO): $(B)/tools/%.so: tests/tools/%.c $(call FLAGS,test)
	@mkdir -p $(@D)
	$(CMD_test) -fPIC -shared $(DEPFLAGS) -MF $@.d -MT $@ -o $@ $<

# GOT patching (tests/integration/test_got.py): its host, a tool with no
# library but libc's; the library the host calls through, built bound at
# load with full RELRO (now), lazily (lazy), and as the ones it loads
# after the install (late, and latenow with full RELRO) and closes
# before the restore (gone); the
# hooker, which links the library's own got.o, and one with a table of 8
# slots, to fill.
GOT_DIR := $(B)/tools/got
GOT_LIBS := $(foreach l,now lazy late latenow gone hooker hooker8,$(GOT_DIR)/libgot_$(l).so)
GOT_LINK_now := -Wl,-z,relro,-z,now
GOT_LINK_latenow := $(GOT_LINK_now)
GOT_LINK_lazy := -Wl,-z,lazy
$(B)/tools/got_host: TOOL_LIBS :=
$(GOT_DIR)/libgot_%.so: tests/tools/got/io.c tests/tools/got/io.h $(call FLAGS,test)
	@mkdir -p $(@D)
	$(CMD_test) -fPIC -shared $(GOT_LINK_$*) $(LDFLAGS) -o $@ $<
$(GOT_DIR)/libgot_hooker.so: tests/tools/got/hooker.c tests/tools/got/hooker.h shim/got.h $(call obj,lib,shim/got.c) $(call FLAGS,lib)
	@mkdir -p $(@D)
	$(CMD_lib) -shared $(LDFLAGS) -o $@ $< $(call obj,lib,shim/got.c) -ldl
$(GOT_DIR)/libgot_hooker8.so: tests/tools/got/hooker.c tests/tools/got/hooker.h shim/got.c shim/got.h $(call FLAGS,lib)
	@mkdir -p $(@D)
	$(CMD_lib) -DTT_GOT_SLOTS=8 -shared $(LDFLAGS) -o $@ $< shim/got.c -ldl

# The stress tool alone (it needs none of the decoder), instrumented.
$(B)/tsan/stress: tests/tools/stress.c $(call FLAGS,stress)
	@mkdir -p $(@D)
	$(call cc_prog,stress,$<)

$(BENCH_BIN): $(B)/bench/%: tests/bench/%.c $(call FLAGS,bench)
	@mkdir -p $(@D)
	$(call cc_prog,bench,$<)

ALL_SRC := $(DEC_SRC) $(SHIM_SRC) $(LAUNCH_SRC) $(UNIT_HELP_SRC) $(UNIT_SRC) $(FUZZ_SRC) $(TOOL_SRC)
-include $(wildcard $(foreach c,lib test asan fuzz tsan prog,$(patsubst %.o,%.d,$(call obj,$(c),$(ALL_SRC)))) \
	$(B)/tsan/stress.d $(BENCH_BIN:=.d) $(TOOL_SO:=.d))

unit: $(UNIT_BIN) compdb
asan: $(ASAN_BIN) compdb
fuzz-build: $(FUZZ_BIN) compdb
tools: $(TOOL_BIN) $(TOOL_SO) $(GOT_LIBS) compdb
tsan: $(TSAN_BIN)

# build/compile_commands.json: one entry per source, with the command of
# the configuration that builds it for the library, the launcher, the
# plain tests and tools, the fuzz targets, the benchmarks.  Made from the
# commands the rules above run (cc_obj, cc_prog), so it follows any change
# of flags; rewritten only when its text changes.
COMPDB_SRC = $(addprefix lib:,$(DEC_SRC) $(SHIM_SRC)) $(addprefix prog:,$(LAUNCH_SRC)) \
	$(addprefix test:,$(UNIT_SRC) $(UNIT_HELP_SRC) $(TOOL_SRC)) \
	$(addprefix fuzz:,$(FUZZ_SRC)) $(addprefix bench:,$(BENCH_SRC))
jstr = "$(subst ",\",$(subst \,\\,$(1)))"
# $(call jentry,command,source,output)
jentry = {"directory": $(call jstr,$(CURDIR)), "file": $(call jstr,$(2)), "output": $(call jstr,$(3)), "arguments": [$(subst $(space),$(comma)$(space),$(strip $(foreach a,$(1),$(call jstr,$(a)))))]}
# $(call centry,config,source)
centry = $(if $(OBJDIR_$(1)),$(call jentry,$(call cc_obj,$(1),$(2),$(call obj,$(1),$(2))),$(2),$(call obj,$(1),$(2))),$(call jentry,$(call cc_prog,$(1),$(2)),$(2),$(call out_$(1),$(2))))
COMPDB = [$(nl)$(subst }$(space){,}$(comma)$(nl){,$(foreach t,$(COMPDB_SRC),$(call centry,$(firstword $(subst :, ,$(t))),$(lastword $(subst :, ,$(t))))))$(nl)]
compdb:
	$(shell mkdir -p $(B))$(file >$(B)/compile_commands.json.new,$(COMPDB))
	@cmp -s $(B)/compile_commands.json.new $(B)/compile_commands.json && \
		rm -f $(B)/compile_commands.json.new || \
		mv -f $(B)/compile_commands.json.new $(B)/compile_commands.json
	@[ -e compile_commands.json ] || [ -L compile_commands.json ] || \
		ln -s $(B)/compile_commands.json compile_commands.json

format:
	@bash scripts/format.sh

deps:
	@bash scripts/deps.sh

# The build inside check runs as many jobs as there are CPUs, unless make
# was given its own -j.
CHECK_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
check: deps
	@$(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(CHECK_JOBS)) all unit asan fuzz-build tools tsan
	@DEC_LAYERS="$(DEC_LAYERS)" bash scripts/check.sh

demo: deps
	@$(MAKE) --no-print-directory all tools
	@bash scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN) tools
	@bash scripts/bench.sh

FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1
fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@bash scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_JOBS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/tlstrace
	install -m 0755 $(B)/libtlstrace.so $(DESTDIR)$(PREFIX)/lib/tlstrace/libtlstrace.so
	install -m 0755 $(B)/tlstrace $(DESTDIR)$(PREFIX)/bin/tlstrace

clean:
	rm -rf $(B)
	@if [ -L compile_commands.json ]; then rm -f compile_commands.json; fi
