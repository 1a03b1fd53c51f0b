/*
 * capture_reader: the /dev/bpf side of the in-guest capture benchmark
 * (scripts/bench-capture). Reads whole buffers until SIGINT, counting
 * records, then prints one line: records, bs_recv, bs_drop, reads, CPU ms.
 *
 * usage: capture_reader IFACE BUFSIZE [reject] [fanout=GROUP]
 *   reject: install a filter that matches nothing (the cost of rejection)
 *   fanout=GROUP: join fan-out group GROUP (flow hash) on IFACE
 */
#include <net/bpf.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct bpf_insn reject[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct bpf_program prog = { 1, reject };
	struct timeval tv = { 0, 100000 };
	struct sigaction sa;
	struct bpf_stat st;
	struct rusage ru;
	struct ifreq ifr;
	unsigned long long records = 0, reads = 0;
	struct bpf_fanout fo = { 0, BPF_FANOUT_NONE };
	int do_reject = 0, i;
	unsigned int blen;
	unsigned char *buf;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: capture_reader IFACE BUFSIZE [reject] [fanout=GROUP]\n");
		return 2;
	}
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "reject")) {
			do_reject = 1;
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
	if (fd < 0 || ioctl(fd, BIOCSBLEN, &blen) || ioctl(fd, BIOCSETIF, &ifr) ||
	    ioctl(fd, BIOCSRTIMEOUT, &tv) ||
	    (do_reject && ioctl(fd, BIOCSETF, &prog)) ||
	    (fo.bf_mode != BPF_FANOUT_NONE && ioctl(fd, BIOCSFANOUT, &fo))) {
		perror("capture_reader setup");
		return 1;
	}
	buf = malloc(blen);
	fprintf(stderr, "capture_reader: ready\n");
	while (!stop) {
		ssize_t n = read(fd, buf, blen);
		unsigned char *p = buf;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("read");
			return 1;
		}
		reads++;
		while (p < buf + n) {
			struct bpf_hdr *bh = (struct bpf_hdr *)p;

			records++;
			p += BPF_WORDALIGN(bh->bh_hdrlen + bh->bh_caplen);
		}
	}
	ioctl(fd, BIOCGSTATS, &st);
	getrusage(RUSAGE_SELF, &ru);
	printf("records=%llu recv=%u drop=%u reads=%llu cpu_ms=%ld\n", records, st.bs_recv,
	       st.bs_drop, reads,
	       (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000);
	return 0;
}
