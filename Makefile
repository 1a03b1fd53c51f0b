# bpfdev top-level build: Kbuild for kmod/, CMake for everything in userspace.
#   make          build the module, all userspace and the bpf libpcap
#   make check    install missing packages, build, run host and guest tests
#   make demo     build, boot the guest, capture generated traffic on /dev/bpf0
#   make kmod [KVER=release|debug | KDIR=tree]   the module for one kernel,
#                 into $(BUILD)/kmod/<release>/ (default: scripts/kernel-version)
KVER  ?= $(shell scripts/kernel-version)
BUILD ?= build
CMAKE_BUILD_TYPE ?= RelWithDebInfo
JOBS  ?= $(shell nproc)

.PHONY: all kmod userspace libpcap check demo bench deps clean checkpatch

all: kmod userspace libpcap

kmod:
	BUILD=$(BUILD) scripts/build-kmod $(if $(KDIR),,$(KVER)) >/dev/null

userspace:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(CMAKE_BUILD_TYPE) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

# Debian's libpcap built against include/net/bpf.h into $(BUILD)/libpcap-bpf/
# (cached; utils/bpfcap runs programs on it).
libpcap:
	BUILD=$(BUILD) scripts/build-libpcap

deps:
	scripts/install-deps

check: deps
	$(MAKE) all
	scripts/check

demo: deps
	$(MAKE) all
	scripts/vm-run -- scripts/demo-guest

checkpatch:
	scripts/checkpatch-kmod

clean:
	-$(MAKE) -C /lib/modules/$(KVER)/build M=$(CURDIR)/kmod clean
	rm -rf $(BUILD)

bench: all
	scripts/bench
