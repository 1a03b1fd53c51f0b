/*
 * ABI layout of <net/bpf.h>: record header sizes, alignment and the ioctl
 * numbers, checked at compile time against the values FreeBSD's names get
 * with Linux encoding on LP64. Compiled as C and as C++ (see CMakeLists.txt).
 */
#include <net/bpf.h>
#include <stddef.h>

#ifdef __cplusplus
#define STATIC_ASSERT static_assert
#else
#define STATIC_ASSERT _Static_assert
#endif

STATIC_ASSERT(sizeof(struct bpf_insn) == 8, "bpf_insn is 8 bytes");
STATIC_ASSERT(sizeof(struct bpf_program) == 16, "bpf_program is 16 bytes");
STATIC_ASSERT(sizeof(struct bpf_hdr) == 32, "bpf_hdr is 32 bytes on LP64");
STATIC_ASSERT(sizeof(struct bpf_xhdr) == 32, "bpf_xhdr is 32 bytes on LP64");
STATIC_ASSERT(SIZEOF_BPF_HDR(struct bpf_hdr) == 26, "bpf_hdr ends at 26");
STATIC_ASSERT(SIZEOF_BPF_HDR(struct bpf_xhdr) == 26, "bpf_xhdr ends at 26");
STATIC_ASSERT(offsetof(struct bpf_hdr, bh_caplen) == 16, "caplen after timeval");
STATIC_ASSERT(BPF_ALIGNMENT == sizeof(long), "alignment is sizeof(long)");
STATIC_ASSERT(BPF_WORDALIGN(14 + 26) - 14 == 26, "Ethernet bh_hdrlen is 26");
STATIC_ASSERT(BPF_WORDALIGN(1) == 8 && BPF_WORDALIGN(8) == 8, "word align");
STATIC_ASSERT(sizeof(struct bpf_stat) == 8, "bpf_stat is two u_ints");
STATIC_ASSERT(sizeof(struct bpf_fanout) == 8, "bpf_fanout is two u_ints");
STATIC_ASSERT(sizeof(struct bpf_dltlist) == 16, "bpf_dltlist is 16 bytes");
STATIC_ASSERT(sizeof(struct bpf_version) == 4, "bpf_version is 4 bytes");
STATIC_ASSERT(BPF_MAJOR_VERSION == 1 && BPF_MINOR_VERSION == 1, "version 1.1");
STATIC_ASSERT(BPF_D_IN == 0 && BPF_D_INOUT == 1 && BPF_D_OUT == 2, "FreeBSD directions");

/* Linux-encoded FreeBSD numbers (docs/REFERENCE.md section 3). */
STATIC_ASSERT(BIOCGBLEN == 0x80044266u, "BIOCGBLEN");
STATIC_ASSERT(BIOCSBLEN == 0xc0044266u, "BIOCSBLEN");
STATIC_ASSERT(BIOCSETF == 0x40104267u, "BIOCSETF");
STATIC_ASSERT(BIOCFLUSH == 0x00004268u, "BIOCFLUSH");
STATIC_ASSERT(BIOCPROMISC == 0x00004269u, "BIOCPROMISC");
STATIC_ASSERT(BIOCGDLT == 0x8004426au, "BIOCGDLT");
STATIC_ASSERT(BIOCGETIF == 0x8028426bu, "BIOCGETIF");
STATIC_ASSERT(BIOCSETIF == 0x4028426cu, "BIOCSETIF");
STATIC_ASSERT(BIOCSRTIMEOUT == 0x4010426du, "BIOCSRTIMEOUT");
STATIC_ASSERT(BIOCGRTIMEOUT == 0x8010426eu, "BIOCGRTIMEOUT");
STATIC_ASSERT(BIOCGSTATS == 0x8008426fu, "BIOCGSTATS");
STATIC_ASSERT(BIOCIMMEDIATE == 0x40044270u, "BIOCIMMEDIATE");
STATIC_ASSERT(BIOCVERSION == 0x80044271u, "BIOCVERSION");
STATIC_ASSERT(BIOCGHDRCMPLT == 0x80044274u, "BIOCGHDRCMPLT");
STATIC_ASSERT(BIOCSHDRCMPLT == 0x40044275u, "BIOCSHDRCMPLT");
STATIC_ASSERT(BIOCGDIRECTION == 0x80044276u, "BIOCGDIRECTION");
STATIC_ASSERT(BIOCSDIRECTION == 0x40044277u, "BIOCSDIRECTION");
STATIC_ASSERT(BIOCSDLT == 0x40044278u, "BIOCSDLT");
STATIC_ASSERT(BIOCGDLTLIST == 0xc0104279u, "BIOCGDLTLIST");
STATIC_ASSERT(BIOCLOCK == 0x0000427au, "BIOCLOCK");
STATIC_ASSERT(BIOCSETWF == 0x4010427bu, "BIOCSETWF");
STATIC_ASSERT(BIOCSETFNR == 0x40104282u, "BIOCSETFNR");
STATIC_ASSERT(BIOCGETBUFMODE == 0x8004427du, "BIOCGETBUFMODE");
STATIC_ASSERT(BIOCSETBUFMODE == 0x4004427eu, "BIOCSETBUFMODE");
STATIC_ASSERT(BIOCGTSTAMP == 0x80044283u, "BIOCGTSTAMP");
STATIC_ASSERT(BIOCSTSTAMP == 0x40044284u, "BIOCSTSTAMP");
STATIC_ASSERT(BIOCFEEDBACK == 0x4004427cu, "BIOCFEEDBACK");
STATIC_ASSERT(BIOCSFEEDBACK == BIOCFEEDBACK, "BIOCSFEEDBACK alias");
STATIC_ASSERT(BIOCGFEEDBACK == 0x8004427cu, "BIOCGFEEDBACK");
STATIC_ASSERT(BIOCSETVLANPCP == 0x40044285u, "BIOCSETVLANPCP");
STATIC_ASSERT(BIOCGBATCHWRITE == 0x8004428eu, "BIOCGBATCHWRITE");
STATIC_ASSERT(BIOCSBATCHWRITE == 0x4004428fu, "BIOCSBATCHWRITE");
STATIC_ASSERT(BIOCGFILDROP == 0x800442c9u, "BIOCGFILDROP");
STATIC_ASSERT(BIOCSFILDROP == 0x400442cau, "BIOCSFILDROP");
STATIC_ASSERT(BIOCSWTIMEOUT == 0x401042cbu, "BIOCSWTIMEOUT");
STATIC_ASSERT(BIOCGWTIMEOUT == 0x801042cbu, "BIOCGWTIMEOUT");
STATIC_ASSERT(BIOCDWTIMEOUT == 0x000042cbu, "BIOCDWTIMEOUT");
STATIC_ASSERT(BIOCSFANOUT == 0x400842d2u && BIOCGFANOUT == 0x800842d3u, "fan-out, clear of the BSDs");
STATIC_ASSERT(BPF_FILDROP_PASS == 0 && BPF_FILDROP_CAPTURE == 1 && BPF_FILDROP_DROP == 2,
	      "FILDROP values");
STATIC_ASSERT(BIOCGSEESENT == BIOCGDIRECTION && BIOCSSEESENT == BIOCSDIRECTION, "SEESENT aliases");
/* Zero-copy: FreeBSD's 127-129; macOS's head drop shares 128, told apart by the size. */
STATIC_ASSERT(BIOCGETZMAX == 0x8008427fu, "BIOCGETZMAX");
STATIC_ASSERT(BIOCSETZBUF == 0x40184280u, "BIOCSETZBUF");
STATIC_ASSERT(BIOCROTZBUF == 0x80184281u, "BIOCROTZBUF");
STATIC_ASSERT(BIOCSHEADDROP != BIOCSETZBUF && BIOCGHEADDROP != BIOCSETZBUF &&
	      BIOCSHEADDROP != BIOCROTZBUF && BIOCGHEADDROP != BIOCROTZBUF, "head drop vs zbuf");
STATIC_ASSERT(BPF_BUFMODE_BUFFER == 1 && BPF_BUFMODE_ZBUF == 2, "buffer modes");
STATIC_ASSERT(sizeof(struct bpf_zbuf) == 24, "struct bpf_zbuf");
STATIC_ASSERT(sizeof(struct bpf_zbuf_header) == 32, "struct bpf_zbuf_header, FreeBSD's 32 bytes");

/* BSD-style use: the macros build a program the way BSD code writes one. */
static struct bpf_insn accept_ip[] = {
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x0800, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, (bpf_u_int32)-1),
	BPF_STMT(BPF_RET | BPF_K, 0),
};

int main(void)
{
	struct bpf_program prog = { sizeof(accept_ip) / sizeof(accept_ip[0]), accept_ip };
	struct bpf_hdr hdr = { { 0, 0 }, 0, 0, 0 };
	struct bintime bt = { 1, (bpf_u_int64)1 << 63 };
	struct timespec ts;

	bintime2timespec(&bt, &ts);
	hdr.bh_tstamp.tv_sec = 1;
	hdr.bh_tstamp.tv_usec = 2;
	return !(prog.bf_len == 4 && BPF_CLASS(prog.bf_insns[1].code) == BPF_JMP &&
		 ts.tv_sec == 1 && ts.tv_nsec == 500000000 && hdr.bh_tstamp.tv_usec == 2);
}
