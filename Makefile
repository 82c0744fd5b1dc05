# Skydive (C) - plain GNU make. Outputs go under build/ (or $(BUILD)).
#   make                 build build/skydive
#   make test            build and run the whole test suite (scripts/test.sh)
#   make SANITIZE=address,undefined BUILD=build-asan test   same under ASan+UBSan
#   make fuzz            libFuzzer targets (clang) in build/fuzz/
#   make WERROR=1        warnings are errors (CI)
#   make UI=0            without the embedded web UI (no node/npm needed)
BUILD    ?= build
CC       ?= cc
PKGS     := libpcap libxxhash libzstd jansson yaml-0.1 libwebsockets libnl-route-3.0 libnl-3.0 libcurl libssl libcrypto libcrypt \
            libprotobuf-c libbpf
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-unused-parameter -Wvla -fno-strict-aliasing -D_GNU_SOURCE \
            -Isrc -I$(BUILD)/gen $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lpcap -lxxhash -lzstd -ljansson -lyaml -lwebsockets -lnl-route-3 -lnl-3 -lcurl -lssl -lcrypto -lcrypt -lprotobuf-c -lbpf) -lcap -lpthread -lm
ifneq ($(WERROR),)
CFLAGS   += -Werror
endif
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=$(SANITIZE)
endif

LIB_SRC  := $(filter-out src/cli/% %.bpf.c,$(wildcard src/*/*.c))
CLI_SRC  := $(wildcard src/cli/*.c)
PROTO    := $(wildcard proto/*.proto)
GEN_SRC  := $(PROTO:proto/%.proto=$(BUILD)/gen/%.pb-c.c)
GEN_HDR  := $(GEN_SRC:.c=.h)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(GEN_SRC:.c=.o) $(BUILD)/gen/ui_assets.o
BPF_SRC  := $(wildcard src/ebpf/*.bpf.c)
BPF_OBJ  := $(BPF_SRC:src/ebpf/%.bpf.c=$(BUILD)/gen/%.bpf.o)
BPF_SKEL := $(BPF_OBJ:.bpf.o=.skel.h)
BPFTOOL  ?= bpftool
BPF_CLANG ?= clang
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)

.PHONY: all test unit fuzz fuzz-replay clean format bench
all: $(BUILD)/skydive

$(BUILD)/libskydive.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(BUILD)/skydive: $(CLI_OBJ) $(BUILD)/libskydive.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c | $(GEN_HDR) $(BPF_SKEL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# Wire formats: C code generated from proto/*.proto by protoc-c (protobuf-c).
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(@D)
	protoc-c --c_out=$(BUILD)/gen --proto_path=proto $<

.SECONDARY: $(GEN_SRC) $(GEN_HDR)

# eBPF (src/ebpf, libbpf-bootstrap layout): the kernel's BTF as vmlinux.h, the
# CO-RE object built by clang for the bpf target, and the skeleton header that
# embeds it (included by src/ebpf/ebpf_flow.c), all under $(BUILD)/gen.
$(BUILD)/gen/vmlinux.h:
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/%.bpf.o: src/ebpf/%.bpf.c src/ebpf/%.h $(BUILD)/gen/vmlinux.h
	$(BPF_CLANG) -g -O2 -Wall -target bpf -I$(BUILD)/gen -Isrc -c -o $@ $<

$(BUILD)/gen/%.skel.h: $(BUILD)/gen/%.bpf.o
	$(BPFTOOL) gen skeleton $< name skydive_$* > $@.tmp && mv $@.tmp $@

.SECONDARY: $(BPF_OBJ) $(BPF_SKEL)

# The web UI (ui/, npm packages pinned by ui/package-lock.json) is built once into
# build/ui whatever $(BUILD) is (the ASan build shares it), then embedded in the
# binary: scripts/gen_ui_assets.py writes $(BUILD)/gen/ui_assets.c, a table whose
# bytes come in by .incbin (src/http/ui_assets.h). make UI=0: an empty table.
UI       ?= 1
UI_DIR   := build/ui
UI_DEPS  := $(shell find ui/src -type f 2>/dev/null) ui/build.mjs ui/package-lock.json
UI_LOCK  := $(if $(shell command -v flock 2>/dev/null),flock build/.ui.lock,)
UI_MODE  := $(BUILD)/gen/ui.mode
# Rewritten only when UI changes, so switching UI=0/1 regenerates the table.
$(shell mkdir -p $(BUILD)/gen && { [ "$$(cat $(UI_MODE) 2>/dev/null)" = "$(UI)" ] || \
    echo "$(UI)" > $(UI_MODE); })

ifeq ($(UI),0)
$(BUILD)/gen/ui_assets.c: scripts/gen_ui_assets.py $(UI_MODE)
	python3 scripts/gen_ui_assets.py $@ $(BUILD)/gen/ui-data
else
$(BUILD)/gen/ui_assets.c: scripts/gen_ui_assets.py $(UI_MODE) $(UI_DIR)/.stamp
	$(UI_LOCK) python3 scripts/gen_ui_assets.py $@ $(BUILD)/gen/ui-data $(UI_DIR)

$(UI_DIR)/.stamp: $(UI_DEPS) ui/node_modules/.package-lock.json
	@mkdir -p $(UI_DIR)
	$(UI_LOCK) sh -c 'cd ui && UI_OUT=$(abspath $(UI_DIR)) node build.mjs'
	touch $@

# npm ci only when node_modules is missing or older than the lockfile.
ui/node_modules/.package-lock.json: ui/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: run scripts/install-deps.sh, or" \
	    "build without the web UI: make UI=0" >&2; exit 1; }
	@mkdir -p build
	$(UI_LOCK) sh -c 'cd ui && npm ci --no-audit --no-fund'
	touch $@
endif

$(BUILD)/gen/ui_assets.o: $(BUILD)/gen/ui_assets.c src/http/ui_assets.h
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c
	$(CC) $(CFLAGS) -Wno-missing-prototypes -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libskydive.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(BUILD)/libskydive.a $(LDLIBS) -lcmocka

unit: $(UNIT_BIN)

# The fuzz corpus is replayed by a plain driver (fuzz/replay.c), so CI needs no clang.
$(BUILD)/fuzz-replay/%: fuzz/%.c fuzz/replay.c $(BUILD)/libskydive.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< fuzz/replay.c $(BUILD)/libskydive.a $(LDLIBS)
fuzz-replay: $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz-replay/%)
# Seed makers that use the program's own encoders (fuzz/README.md).
$(BUILD)/fuzz-seed/%: fuzz/%.c $(BUILD)/libskydive.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libskydive.a $(LDLIBS)

# libFuzzer builds: make fuzz, then build/fuzz/fuzz_decode fuzz/corpus/decode
fuzz:
	$(MAKE) BUILD=$(BUILD)/fuzz-lib CC=clang SANITIZE=address,undefined UI=0 \
	    OPT="-O1 -fsanitize=fuzzer-no-link" $(BUILD)/fuzz-lib/libskydive.a
	@mkdir -p $(BUILD)/fuzz
	for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	    clang -O1 -g -std=gnu11 -D_GNU_SOURCE -Isrc -I$(BUILD)/fuzz-lib/gen \
	      -fsanitize=fuzzer,address,undefined \
	      -o $(BUILD)/fuzz/$$n $$f $(BUILD)/fuzz-lib/libskydive.a $(LDLIBS) || exit 1; done

test: all unit fuzz-replay
	BUILD=$(BUILD) scripts/test.sh

bench: all
	bench/bench.sh

format:
	clang-format -i $$(find src tests fuzz bench -name '*.[ch]')

clean:
	rm -rf $(BUILD) build-asan

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
