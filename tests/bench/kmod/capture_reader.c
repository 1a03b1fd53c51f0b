/*
 * capture_reader: the /dev/bpf side of the in-guest capture benchmark
 * (scripts/bench-capture). Takes whole buffers until SIGINT, counting
 * records, then prints one line: records, bs_recv, bs_drop, buffers taken,
 * CPU ms (user + sys), the system calls made to wait for and take the
 * buffers (read, poll, BIOCROTZBUF) and CPU ns (scripts/bench-capture reads
 * the same from /proc/PID/schedstat for the other readers).
 *
 * usage: capture_reader IFACE BUFSIZE [reject] [fanout=GROUP] [zbuf]
 *   reject: install a filter that matches nothing (the cost of rejection)
 *   fanout=GROUP: join fan-out group GROUP (flow hash) on IFACE
 *   zbuf: zero-copy buffers of BUFSIZE (rounded up to pages, with the
 *         header): poll() when neither buffer is ours, BIOCROTZBUF when
 *         poll() said readable (the read timeout) and still none is (never
 *         with bpfdev, which hands the store over itself; FreeBSD's would)
 */
#include <net/bpf.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static unsigned long long count_records(const unsigned char *buf, size_t n)
{
	const unsigned char *p = buf;
	unsigned long long records = 0;

	while (p < buf + n) {
		const struct bpf_hdr *bh = (const struct bpf_hdr *)p;

		records++;
		p += BPF_WORDALIGN(bh->bh_hdrlen + bh->bh_caplen);
	}
	return records;
}

struct zbufs {
	unsigned char *buf[2];
	int next;	/* the module fills a, b, a, ...: take them in that order */
};

/* Zero-copy: records of the next buffer if it is ours (acquire), else -1. */
static ssize_t zbuf_take(struct zbufs *z, struct bpf_zbuf_header **held)
{
	struct bpf_zbuf_header *h = (struct bpf_zbuf_header *)z->buf[z->next];

	if (__atomic_load_n(&h->bzh_kernel_gen, __ATOMIC_ACQUIRE) == h->bzh_user_gen)
		return -1;
	*held = h;
	z->next ^= 1;
	return h->bzh_kernel_len;
}

/* Hand the buffer back once its records were read (release). */
static void zbuf_ack(struct bpf_zbuf_header *h)
{
	__atomic_store_n(&h->bzh_user_gen, h->bzh_kernel_gen, __ATOMIC_RELEASE);
}

static int zbuf_setup(int fd, unsigned int blen, struct zbufs *z)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = (blen + sizeof(struct bpf_zbuf_header) + page - 1) / page * page;
	unsigned int mode = BPF_BUFMODE_ZBUF;
	struct bpf_zbuf bz;
	size_t zmax;
	int i;

	if (ioctl(fd, BIOCSETBUFMODE, &mode) || ioctl(fd, BIOCGETZMAX, &zmax))
		return -1;
	if (len > zmax)	/* 2 MiB of records does not fit 2 MiB with the header */
		len = zmax;

	for (i = 0; i < 2; i++) {
		z->buf[i] = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				 -1, 0);
		if (z->buf[i] == MAP_FAILED)
			return -1;
	}
	z->next = 0;
	bz.bz_bufa = z->buf[0];
	bz.bz_bufb = z->buf[1];
	bz.bz_buflen = len;
	if (ioctl(fd, BIOCSETZBUF, &bz))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_insn reject[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct bpf_program prog = { 1, reject };
	struct timeval tv = { 0, 100000 };
	struct sigaction sa;
	struct bpf_stat st;
	struct timespec cpu;
	struct rusage ru;
	struct ifreq ifr;
	unsigned long long records = 0, buffers = 0, syscalls = 0;
	struct bpf_fanout fo = { 0, BPF_FANOUT_NONE };
	int do_reject = 0, zero_copy = 0, polled = 0, i;
	struct zbufs z;
	unsigned int blen;
	unsigned char *buf;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: capture_reader IFACE BUFSIZE [reject] [fanout=GROUP] [zbuf]\n");
		return 2;
	}
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "reject")) {
			do_reject = 1;
		} else if (!strcmp(argv[i], "zbuf")) {
			zero_copy = 1;
		} else if (!strncmp(argv[i], "fanout=", 7)) {
			fo.bf_group = (unsigned int)strtoul(argv[i] + 7, NULL, 0);
			fo.bf_mode = BPF_FANOUT_HASH;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);	/* no SA_RESTART: read() returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	blen = (unsigned int)strtoul(argv[2], NULL, 0);
	fd = open("/dev/bpf", O_RDONLY);
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
	if (fd < 0 || (zero_copy ? zbuf_setup(fd, blen, &z) : ioctl(fd, BIOCSBLEN, &blen)) ||
	    ioctl(fd, BIOCSETIF, &ifr) ||
	    ioctl(fd, BIOCSRTIMEOUT, &tv) ||
	    (do_reject && ioctl(fd, BIOCSETF, &prog)) ||
	    (fo.bf_mode != BPF_FANOUT_NONE && ioctl(fd, BIOCSFANOUT, &fo))) {
		perror("capture_reader setup");
		return 1;
	}
	buf = zero_copy ? NULL : malloc(blen);
	fprintf(stderr, "capture_reader: ready\n");
	while (!stop && zero_copy) {
		struct bpf_zbuf_header *h;
		struct pollfd pfd = { fd, POLLIN, 0 };
		struct bpf_zbuf bz;
		ssize_t n = zbuf_take(&z, &h);

		if (n >= 0) {
			records += count_records((unsigned char *)(h + 1), (size_t)n);
			buffers++;
			zbuf_ack(h);
			polled = 0;
			continue;
		}
		syscalls++;
		if (polled) {
			/* Readable for the timeout: have the part-filled store handed over. */
			polled = 0;
			if (ioctl(fd, BIOCROTZBUF, &bz) < 0) {
				perror("BIOCROTZBUF");
				return 1;
			}
			continue;
		}
		/* Neither buffer is ours: wait (the read timeout bounds it). */
		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			return 1;
		}
		polled = 1;
	}
	while (!stop && !zero_copy) {
		ssize_t n = read(fd, buf, blen);

		syscalls++;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("read");
			return 1;
		}
		buffers++;
		records += count_records(buf, (size_t)n);
	}
	ioctl(fd, BIOCGSTATS, &st);
	getrusage(RUSAGE_SELF, &ru);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	printf("records=%llu recv=%u drop=%u buffers=%llu cpu_ms=%ld syscalls=%llu cpu_ns=%lld\n",
	       records, st.bs_recv, st.bs_drop, buffers,
	       (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000,
	       syscalls, (long long)cpu.tv_sec * 1000000000LL + cpu.tv_nsec);
	return 0;
}
