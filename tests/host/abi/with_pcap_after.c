/*
 * <net/bpf.h> before <pcap.h>, as pcap-bpf.c and BSD programs include them:
 * <pcap/bpf.h> steps aside and pcap.h still compiles and links.
 */
#include <net/bpf.h>
#include <pcap.h>

int main(void)
{
	struct bpf_program prog;
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 128);
	int ok = p != NULL && pcap_compile(p, &prog, "tcp port 80", 1, 0) == 0 &&
		 prog.bf_len > 4 && BPF_CLASS(prog.bf_insns[prog.bf_len - 1].code) == BPF_RET;

	if (ok)
		pcap_freecode(&prog);
	if (p)
		pcap_close(p);
	return !ok;
}
