# vrange workbench: assemble Debian's linux-source-6.12 + the series into
# build/linux, build it, boot it under QEMU and run the tests. See README.md.
#
#   make run      boot the patched kernel and show vrange at work (SH=1: a shell)
#   make check    everything the tests need, from a fresh machine
#   make tree     (re)assemble build/linux          make save    write it back
#   make series   out/series/ and its bisectability check
#   make kernel CONFIG=fast|debug|novrange           make boot CONFIG=... MODE=...
#   make bench    the benchmark (issue 6)
#   make cross    W=1 + sparse builds for i386, arm64 and x86_64 (VRANGE y and n)
#   make htmldocs the series' documentation through Sphinx (make check runs it)
#   make wbtest   the workbench's own tests
#   make client   jemalloc with vrange.patch and its tests (issue 16)
#   make client-check  jemalloc's tests in the guest: stock, vrange, vrange+drop_caches

CONFIG ?= fast
MODE ?= check
export TOP := $(CURDIR)

export SH SAVE_TO

.PHONY: shell all deps tree save series export bisect kernel initramfs boot run check \
	wbtest static bench cross htmldocs client client-check clean distclean

all: check

deps:
	@wb/deps.sh

tree: deps
	@wb/series.py tree

save:
	@wb/series.py save

export: tree
	@wb/series.py export
	@wb/series.py amcheck

bisect: export
	@wb/bisect.sh

series: bisect

kernel: tree
	@wb/kbuild.sh $(CONFIG)

initramfs: kernel
	@wb/initramfs.sh

boot: initramfs
	@wb/boot.sh $(CONFIG) $(MODE)

run: tree
	@wb/run.sh

shell:
	@SH=1 wb/run.sh

check:
	@wb/check.sh

wbtest:
	@wb/tests/run.sh

static: tree
	@wb/static.sh

bench: tree
	@wb/bench.sh

cross: tree
	@wb/cross.sh

htmldocs: tree
	@wb/docs.sh

# Needs the fast kernel's uapi headers (make kernel).
client:
	@wb/client.sh

# 2 GiB: the guest unpacks ~190 MB of test programs, and stress/batch_alloc
# has 1.6 GB of bss, which exec refuses (SIGSEGV) in 1 GiB without swap.
client-check: client initramfs
	@INITRD=build/initramfs-client.cpio.gz MEM=$${MEM:-2048} TIMEOUT=$${TIMEOUT:-10800} \
		wb/boot.sh $(CONFIG) jemalloc

clean:
	rm -rf build/obj-* build/boot-* build/initramfs* build/results out

distclean:
	rm -rf build out
