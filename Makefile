# archbench. `make` builds, `make bench` runs the default profile on the loopback mocks,
# `make test` runs the suite. DEBUG=1 for -O0 -g; SANITIZE=address|undefined|thread (or a
# list, SANITIZE=address,undefined) builds into build-<sanitizers>/ so it never mixes with the
# normal objects.

CC      ?= cc
CXX     ?= c++
PKGS    := libserialport libv4l2 jansson alsa
DEB_PKGS := build-essential pkg-config libbenchmark-dev libserialport-dev libv4l-dev libjansson-dev libasound2-dev gnuplot-nox

comma := ,
ifeq ($(SANITIZE),)
B := build
else
B := build-$(subst $(comma),-,$(SANITIZE))
endif

CFLAGS  := -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wshadow -pthread -D_GNU_SOURCE -MMD -MP
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
# A test ends in _exit(0), which skips the exit code TSan sets after a report: so the first
# report aborts the test instead. Options already in TSAN_OPTIONS come after and win.
ifeq ($(SANITIZE),thread)
export TSAN_OPTIONS := halt_on_error=1$(if $(TSAN_OPTIONS),:$(TSAN_OPTIONS))
endif
CFLAGS  += -Iharness -Ihw -Iscenarios -Ireports $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lserialport -lv4l2 -ljansson -lasound)

# Every .c of these folders is the library (main.c is the CLI's entry): a new runtime,
# device or scenario is a file here plus its line in its table, nothing in this Makefile.
HARNESS := $(filter-out harness/main.c,$(sort $(wildcard harness/*.c)))
HW      := $(sort $(wildcard hw/*.c))
SCEN    := $(sort $(wildcard scenarios/*.c))
REPORTS := $(sort $(wildcard reports/*.c))
LIBSRC  := $(HARNESS) $(HW) $(SCEN) $(REPORTS)
TESTSRC := tests/runner.c $(sort $(wildcard tests/test_*.c))

LIBOBJ  := $(LIBSRC:%.c=$(B)/%.o)
TESTOBJ := $(TESTSRC:%.c=$(B)/%.o)

all: deps $(B)/archbench $(B)/run-tests $(B)/lsp_shim.so

$(B)/archbench: $(B)/harness/main.o $(B)/libab.a
	@echo "LINK $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/run-tests: $(TESTOBJ) $(B)/libab.a
	@echo "LINK $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/libab.a: $(LIBOBJ)
	@echo "AR   $@"
	@rm -f $@ && ar rcs $@ $^

# Interposed ioctl for the libserialport-over-pty test (see tests/lsp_shim.c).
$(B)/lsp_shim.so: tests/lsp_shim.c
	@mkdir -p $(dir $@)
	@echo "CC   $<"
	@$(CC) -shared -fPIC -O2 -D_GNU_SOURCE -o $@ $< -ldl

# Packages first: with -j the compiles would otherwise race the install of their headers.
$(LIBOBJ) $(TESTOBJ) $(B)/harness/main.o: | deps

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC   $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

# Missing Debian packages are installed when we are root; otherwise the exact line is printed.
# $(call install,PKGS): the recipe lines that do it.
define install
@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
if [ -n "$$missing" ]; then \
  if [ "$$(id -u)" = 0 ]; then \
    echo "installing:" $$missing; \
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null \
      || { echo "apt-get install $$missing failed" >&2; exit 3; }; \
  else echo "missing packages; run: sudo apt-get install -y $$missing" >&2; exit 3; fi; \
fi
endef

deps:
	$(call install,$(DEB_PKGS))

test: all micro-compare-tools
	@AB_BIN=$(CURDIR)/$(B)/archbench AB_SHIM=$(CURDIR)/$(B)/lsp_shim.so $(B)/run-tests $(T)

# Every rule's mutant killed by its tests (tests/mutants/run); MUTANTS=glob for a subset.
mutants: all
	@B=$(B) SANITIZE=$(SANITIZE) MUTANTS='$(MUTANTS)' tests/mutants/run

# The default profile: every scenario x runtime x transport on the loopback mocks (REPEAT=K
# makes every run K times, in rounds: archbench bench --repeat K), the primitives' prices,
# then the report (its path is the last line).
bench: all
	@$(B)/archbench bench $(if $(DURATION),--duration $(DURATION)) $(if $(REPEAT),--repeat $(REPEAT))
	@$(MICRO_PROFILE)
	@$(B)/archbench report results/latest

# The report of the latest run, again (after a change of reports/, or with gnuplot installed).
report: all
	@test -d results/latest || { echo "no results/latest: run make bench first" >&2; exit 2; }
	@$(B)/archbench report results/latest

# Is this tree slower than BASE (any git revision)? BASE is built in a git worktree under
# build/regress/ (a cache; the working tree is never touched), both builds run the same short
# profile in random ABBA blocks for REGRESS_BUDGET (10m in all, builds included), then
# `archbench compare` gives the verdict and the exit code: 0 none, 1 a regression, 2 bad input.
# Its outputs (compare.md, compare.json, junit.xml) are in build/regress/<id>/, the path is
# printed. REGRESS_SEED=S draws the same block order again. bench/regress says how.
regress:
	@REGRESS_BUDGET='$(REGRESS_BUDGET)' REGRESS_SEED='$(REGRESS_SEED)' bench/regress '$(BASE)'

# The gate's error rates on this machine, with compare's defaults: A/A false alarms, and how
# often a slowdown of exactly 5, 10 and 20% planted in the robot's inner step and the pipe
# round trip is caught, in about CALIBRATE_BUDGET (25m). The figures go into
# results/<run-id>/calibration.json and a table is printed (bench/calibrate.py says how).
regress-calibrate: all
	$(call install,python3)
	@python3 bench/calibrate.py $(if $(CALIBRATE_BUDGET),--budget $(CALIBRATE_BUDGET))

clean:
	rm -rf build build-address build-undefined build-thread build-address-undefined

# ---- micro-benchmarks (bench/, issue 3) ------------------------------------------------------
# build/archbench-micro: the primitives priced through a C shim over Google Benchmark;
# bench/gbench.cc is the project's only C++. `make bench` ends with a short profile of it into
# results/latest/micro.json (Google Benchmark's JSON: its tools/compare.py reads it as is),
# written under a temporary name and renamed when whole: an interrupted profile leaves none.
# Its console table and banner go to micro.txt (the end of it is shown if the profile fails).
MICROSRC := bench/micro_main.c bench/abm.c bench/selftest.c bench/floor.c bench/sync.c \
            bench/pipe.c bench/socket.c bench/msgq.c bench/channels.c bench/registers.c \
            bench/robot.c bench/spawn.c bench/clock.c bench/plant.c
MICROOBJ := $(MICROSRC:%.c=$(B)/%.o) $(B)/bench/gbench.o
$(MICROOBJ): | deps
CXXFLAGS := -std=c++17 -Wall -Wextra -Wshadow -MMD -MP $(filter -O% -g%,$(CFLAGS)) \
            $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer) \
            $(shell pkg-config --cflags benchmark 2>/dev/null)
GBLIBS   := $(shell pkg-config --libs benchmark 2>/dev/null || echo -lbenchmark)
# The profile: the small messages of every primitive, the robot's two hand-overs, spawn and
# the instruments, and the main transports' round trips at every payload (the report's
# latency-against-size figure), each for at least 20 ms of its measured time
# (--benchmark_min_time=0.02: make bench stays within 3 minutes).
MICRO_FILTER := /(0|8|48)$$|^robot-frame|^(spawn|clock|hist)/|^reg/.*/64$$|^(pipe|unix-seqpacket|mq|tcp|chan-shm|cacheline)/procs/rtt/
MICRO_PROFILE = o=results/latest/micro; trap 'rm -f $$o.json.tmp' EXIT INT TERM HUP; \
                $(B)/archbench-micro --benchmark_filter='$(MICRO_FILTER)' --benchmark_min_time=0.02 \
                --benchmark_out=$$o.json.tmp --benchmark_out_format=json > $$o.txt 2>&1 || \
                { tail -n 5 $$o.txt >&2; exit 1; }; mv $$o.json.tmp $$o.json && $(MICRO_DIGEST)
# After the scenarios' table, the prices that explain it (bench/digest.awk).
MICRO_KEY := ^(cacheline|chan-shm-spin|chan-shm|futex|pipe|unix-seqpacket|mq|tcp)/procs/rtt/[08]$$|^robot-frame-(inplace-shm|shm|pipe)/|^spawn/
MICRO_DIGEST = awk -v key='$(MICRO_KEY)' -f bench/digest.awk results/latest/micro.txt

all: $(B)/archbench-micro

$(B)/archbench-micro: $(MICROOBJ) $(B)/libab.a
	@echo "LINK $@"
	@$(CXX) $(LDFLAGS) -o $@ $^ $(GBLIBS) $(LDLIBS)

$(B)/%.o: %.cc
	@mkdir -p $(dir $@)
	@echo "CXX  $<"
	@$(CXX) $(CXXFLAGS) -Iharness -c -o $@ $<

# Google Benchmark's tools/compare.py is in no Debian binary package: this fetches the Debian
# source package of `benchmark` (the version installed) into build/gbench-src, never
# committed, through a throwaway source list, and installs python3-scipy and python3-numpy,
# which compare.py needs. Once per machine; when the archive cannot be reached it says so and
# the test that runs compare.py skips, naming why.
GBSRC := $(CURDIR)/build/gbench-src
micro-compare-tools:
	-$(call install,python3-scipy python3-numpy)
	@set -e; d=$(GBSRC); ls $$d/benchmark-*/tools/compare.py >/dev/null 2>&1 && exit 0; \
	mkdir -p $$d/lists/partial; \
	echo "deb-src http://deb.debian.org/debian bookworm main" > $$d/sources.list; \
	o="-o APT::Sandbox::User=root -o Dir::Etc::SourceList=$$d/sources.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$$d/lists"; \
	v=$$(dpkg-query -W -f '$${source:Version}' libbenchmark-dev 2>/dev/null || true); \
	if apt-get $$o update -qq >/dev/null 2>&1 && cd $$d && \
	   apt-get $$o source --download-only -qq benchmark$${v:+=$$v} >/dev/null 2>&1 && \
	   tar xzf benchmark_*.orig.tar.gz; then echo "compare.py: $$(ls $$d/benchmark-*/tools/compare.py)"; \
	else echo "compare.py: the Debian source package of benchmark could not be fetched; its test will skip" >&2; fi

# Our figures against perf bench sched pipe, pmqtest, ptsematest and cyclictest, in
# alternating rounds on this machine (bench/fidelity.py says how). ROUNDS=5 by default.
# Then the GIL model against real CPython threads on the same shapes (bench/gil_fidelity.py).
fidelity: all
	$(call install,rt-tests linux-perf python3)
	@python3 bench/fidelity.py $(if $(ROUNDS),--rounds $(ROUNDS)); a=$$?; \
	python3 bench/gil_fidelity.py $(if $(ROUNDS),--rounds $(ROUNDS)); b=$$?; \
	[ $$a = 0 ] && [ $$b = 0 ]

fidelity-gil: all
	$(call install,python3)
	@python3 bench/gil_fidelity.py $(if $(ROUNDS),--rounds $(ROUNDS))

.PHONY: micro-compare-tools fidelity fidelity-gil
-include $(MICROOBJ:.o=.d)

.PHONY: all deps test mutants bench report regress regress-calibrate clean
-include $(LIBOBJ:.o=.d) $(TESTOBJ:.o=.d) $(B)/harness/main.d

# ---- fuzzing (tests/fuzz/) -------------------------------------------------------------------
# `make fuzz`: each target in tests/fuzz/<t>.c built with clang and libFuzzer under ASan and
# UBSan into build-fuzz/, then run for FUZZ_TIME seconds (60 by default) from its seed corpus
# tests/fuzz/<t>/. Inputs it finds new go to build-fuzz/corpus/<t>/ (kept between runs); an
# input that breaks a property goes to build-fuzz/crash-<t>-* and fails the target, which
# fails make. The whole library is built again with the fuzzer's coverage for `params`,
# whose resolver lives in runtime.c among everything else.
FZ        := build-fuzz
FUZZ_TIME ?= 60
FUZZ      := motor_proto units params cli_args scpi
FUZZ_SAN  := address,undefined
FUZZ_CFLAGS := $(filter-out -O% -g% -fsanitize=%,$(CFLAGS)) -O1 -g -fno-omit-frame-pointer \
               -fno-sanitize-recover=undefined
FUZZ_LIBOBJ := $(LIBSRC:%.c=$(FZ)/%.o)

$(FZ)/motor_proto: $(FZ)/tests/fuzz/motor_proto.o $(FZ)/hw/motor_proto.o
$(FZ)/units: $(FZ)/tests/fuzz/units.o $(FZ)/harness/units.o
$(FZ)/scpi: $(FZ)/tests/fuzz/scpi.o $(FZ)/hw/scpi.o
$(FZ)/params: $(FZ)/tests/fuzz/params.o $(FUZZ_LIBOBJ)
$(FZ)/cli_args: $(FZ)/tests/fuzz/cli_args.o $(FUZZ_LIBOBJ)
$(FUZZ:%=$(FZ)/%):
	@echo "LINK $@"
	@clang -fsanitize=fuzzer,$(FUZZ_SAN) -o $@ $^ $(LDLIBS)

$(FZ)/%.o: %.c | fuzz-deps
	@mkdir -p $(dir $@)
	@echo "CC   $< (fuzz)"
	@clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -c -o $@ $<

fuzz-deps:
	$(call install,clang libclang-rt-14-dev)

# Each target's last libFuzzer line (runs, coverage, corpus) is printed; its whole log is in
# build-fuzz/<t>.log, and its end is shown when it fails.
fuzz: $(FUZZ:%=$(FZ)/%)
	@for t in $(FUZZ); do \
	  mkdir -p $(FZ)/corpus/$$t; \
	  if $(FZ)/$$t -max_total_time=$(FUZZ_TIME) -timeout=10 -print_final_stats=1 \
	       -artifact_prefix=$(FZ)/crash-$$t- $(FZ)/corpus/$$t tests/fuzz/$$t > $(FZ)/$$t.log 2>&1; \
	  then echo "fuzz $$t: $$(grep -a '^#[0-9]*.*DONE' $(FZ)/$$t.log | tail -n 1)"; \
	  else tail -n 40 $(FZ)/$$t.log >&2; echo "fuzz $$t: FAILED; the input: $(FZ)/crash-$$t-*" >&2; exit 1; fi; \
	done

clean: fuzz-clean
fuzz-clean:
	rm -rf $(FZ)

.PHONY: fuzz fuzz-deps fuzz-clean
-include $(FUZZ_LIBOBJ:.o=.d) $(FUZZ:%=$(FZ)/tests/fuzz/%.d)
