# bpfdev top-level build: Kbuild for kmod/, CMake for everything in userspace.
#   make          build the module, all userspace and the bpf libpcap
#   make check    install missing packages, build, run host and guest tests
#   make demo     build, boot the guest, capture generated traffic on /dev/bpf0
#   make install  [DESTDIR=...] [PREFIX=/usr/local]: libtap, tools, bpfcap and
#                 its libpcap, the module source for DKMS, the udev rule
KVER  ?= $(shell scripts/kernel-version)
KDIR  ?= /lib/modules/$(KVER)/build
BUILD ?= build
CMAKE_BUILD_TYPE ?= RelWithDebInfo
JOBS  ?= $(shell nproc)
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all kmod userspace libpcap check demo bench deps clean checkpatch install

all: kmod userspace libpcap

kmod:
	$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod W=1 modules

userspace:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(CMAKE_BUILD_TYPE) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

# Debian's libpcap built against include/net/bpf.h into $(BUILD)/libpcap-bpf/
# (cached; utils/bpfcap runs programs on it).
libpcap:
	BUILD=$(BUILD) scripts/build-libpcap

# Everything under PREFIX (libdir as GNUInstallDirs gives it: lib/<triplet>
# for /usr), except what its users read from fixed places: the DKMS source in
# /usr/src/bpfdev-<version>/, the udev rule in /usr/lib/udev/rules.d/, the
# group in /usr/lib/sysusers.d/. No module is built here: `dkms install
# bpfdev/<version>` (or the bpfdev-dkms package) builds it per kernel.
install: userspace libpcap
	DESTDIR=$(DESTDIR) cmake --install $(BUILD)

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
	-$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod clean
	rm -rf $(BUILD)

bench: all
	scripts/bench
