# archbench. `make` builds, `make bench` runs the default profile on the loopback mocks,
# `make test` runs the suite. DEBUG=1 for -O0 -g; SANITIZE=address|undefined|thread builds
# into build-<sanitizer>/ so it never mixes with the normal objects.

CC      ?= cc
CXX     ?= c++
PKGS    := libserialport libv4l2
DEB_PKGS := build-essential pkg-config libbenchmark-dev libserialport-dev libv4l-dev libjansson-dev gnuplot-nox

ifeq ($(SANITIZE),)
B := build
else
B := build-$(SANITIZE)
endif

CFLAGS  := -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wshadow -pthread -D_GNU_SOURCE -MMD -MP
LDLIBS  := -pthread -lm -lrt
ifeq ($(DEBUG),1)
CFLAGS  += -O0 -g3
else
CFLAGS  += -O2 -g
endif
ifneq ($(SANITIZE),)
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -O1
LDFLAGS += -fsanitize=$(SANITIZE)
endif
CFLAGS  += -Iharness -Ihw -Iscenarios $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lserialport -lv4l2)

HARNESS := harness/hist.c harness/stats.c harness/compute.c harness/shm.c harness/ring.c \
           harness/reg.c harness/chan.c harness/chan_kernel.c harness/runtime.c \
           harness/runtime_threads.c harness/runtime_procs.c harness/runtime_loop.c \
           harness/result.c harness/sysinfo.c harness/units.c harness/cli.c
HW      := hw/motor_proto.c hw/serial.c hw/camera.c
SCEN    := scenarios/markers.c scenarios/ik.c scenarios/baseline.c scenarios/robot.c \
           scenarios/registry.c
LIBSRC  := $(HARNESS) $(HW) $(SCEN)
TESTSRC := tests/runner.c $(sort $(wildcard tests/test_*.c))

LIBOBJ  := $(LIBSRC:%.c=$(B)/%.o)
TESTOBJ := $(TESTSRC:%.c=$(B)/%.o)

all: deps $(B)/archbench $(B)/run-tests $(B)/lsp_shim.so

$(B)/archbench: $(B)/harness/main.o $(B)/libab.a
	@echo "LINK $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/run-tests: $(TESTOBJ) $(B)/libab.a
	@echo "LINK $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -ljansson

$(B)/libab.a: $(LIBOBJ)
	@echo "AR   $@"
	@rm -f $@ && ar rcs $@ $^

# Interposed ioctl for the libserialport-over-pty test (see tests/lsp_shim.c).
$(B)/lsp_shim.so: tests/lsp_shim.c
	@echo "CC   $<"
	@$(CC) -shared -fPIC -O2 -D_GNU_SOURCE -o $@ $< -ldl

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC   $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

# Missing Debian packages are installed when we are root; otherwise the exact line is printed.
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:" $$missing; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null \
	      || { echo "apt-get install $$missing failed" >&2; exit 3; }; \
	  else echo "missing packages; run: sudo apt-get install -y $$missing" >&2; exit 3; fi; \
	fi

test: all
	@AB_BIN=$(CURDIR)/$(B)/archbench AB_SHIM=$(CURDIR)/$(B)/lsp_shim.so $(B)/run-tests $(T)

# The default profile: every scenario x runtime x transport on the loopback mocks.
bench: all
	@$(B)/archbench bench $(if $(DURATION),--duration $(DURATION))

clean:
	rm -rf build build-address build-undefined build-thread

.PHONY: all deps test bench clean
-include $(LIBOBJ:.o=.d) $(TESTOBJ:.o=.d) $(B)/harness/main.d
