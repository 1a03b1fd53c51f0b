/*
 * bpfpeek: print frames captured on an interface, one line each.
 *
 * Written the way a FreeBSD or macOS program uses bpf(4) -- the /dev/bpfN open
 * loop, BIOCSETIF, BIOCIMMEDIATE, BIOCSETF, read() of BIOCGBLEN bytes, and a
 * BPF_WORDALIGN walk over bpf_hdr records -- using nothing but <net/bpf.h>:
 * proof that such code builds and runs unchanged on Linux with bpfdev.
 *
 * usage: bpfpeek [-c count] [-t ethertype] interface
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <net/bpf.h>
#include <net/if.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int
bpf_open(char *path, size_t len)
{
	int fd, n;

	for (n = 0; n < 256; n++) {
		snprintf(path, len, "/dev/bpf%d", n);
		fd = open(path, O_RDWR);
		if (fd >= 0 || errno != EBUSY)
			return fd;
	}
	return -1;
}

static void
print_record(const struct bpf_hdr *bh, const u_char *p)
{
	char when[32];
	time_t sec = bh->bh_tstamp.tv_sec;
	struct tm tm;

	localtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	printf("%s.%06ld len %u cap %u", when, (long)bh->bh_tstamp.tv_usec,
	    bh->bh_datalen, bh->bh_caplen);
	if (bh->bh_caplen >= 14)
		printf(" %02x:%02x:%02x:%02x:%02x:%02x > %02x:%02x:%02x:%02x:%02x:%02x"
		    " type 0x%04x", p[6], p[7], p[8], p[9], p[10], p[11],
		    p[0], p[1], p[2], p[3], p[4], p[5], (p[12] << 8) | p[13]);
	printf("\n");
}

int
main(int argc, char **argv)
{
	struct ifreq ifr;
	struct bpf_stat st;
	struct bpf_version bv;
	struct timeval tv = { 1, 0 };
	struct bpf_insn by_type[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, (u_int)-1),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct bpf_program prog = { 4, by_type };
	char path[32];
	u_int blen, on = 1;
	long count = -1, seen = 0;
	int fd, ch, type = -1;
	u_char *buf, *p;
	ssize_t n;

	while ((ch = getopt(argc, argv, "c:t:")) != -1) {
		switch (ch) {
		case 'c':
			count = strtol(optarg, NULL, 0);
			break;
		case 't':
			type = (int)strtol(optarg, NULL, 0);
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;

	if ((fd = bpf_open(path, sizeof(path))) < 0) {
		perror("open /dev/bpf*");
		return 1;
	}
	if (ioctl(fd, BIOCVERSION, &bv) < 0 || bv.bv_major != BPF_MAJOR_VERSION ||
	    bv.bv_minor < BPF_MINOR_VERSION) {
		fprintf(stderr, "kernel bpf filter out of date\n");
		return 1;
	}
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, argv[optind], sizeof(ifr.ifr_name) - 1);
	if (ioctl(fd, BIOCSETIF, &ifr) < 0) {
		fprintf(stderr, "BIOCSETIF %s: %s\n", ifr.ifr_name, strerror(errno));
		return 1;
	}
	if (ioctl(fd, BIOCIMMEDIATE, &on) < 0 || ioctl(fd, BIOCSRTIMEOUT, &tv) < 0 ||
	    ioctl(fd, BIOCGBLEN, &blen) < 0) {
		perror("ioctl");
		return 1;
	}
	if (type >= 0) {
		by_type[1].k = (u_int)type;
		if (ioctl(fd, BIOCSETF, &prog) < 0) {
			perror("BIOCSETF");
			return 1;
		}
	}
	fprintf(stderr, "bpfpeek: %s on %s, buffer %u bytes\n", path, ifr.ifr_name, blen);
	if ((buf = malloc(blen)) == NULL)
		return 1;
	while (count < 0 || seen < count) {
		if ((n = read(fd, buf, blen)) < 0) {
			if (errno == EINTR)
				continue;
			perror("read");
			return 1;
		}
		for (p = buf; p < buf + n && (count < 0 || seen < count);) {
			struct bpf_hdr *bh = (struct bpf_hdr *)p;

			print_record(bh, p + bh->bh_hdrlen);
			seen++;
			p += BPF_WORDALIGN(bh->bh_hdrlen + bh->bh_caplen);
		}
		fflush(stdout);
	}
	if (ioctl(fd, BIOCGSTATS, &st) == 0)
		fprintf(stderr, "bpfpeek: %ld shown, %u received by filter, %u dropped\n",
		    seen, st.bs_recv, st.bs_drop);
	free(buf);
	close(fd);
	return 0;
usage:
	fprintf(stderr, "usage: bpfpeek [-c count] [-t ethertype] interface\n");
	return 2;
}
