/* <pcap.h> before <net/bpf.h>: libpcap's definitions are reused, ours add the rest. */
#include <pcap.h>
#include <net/bpf.h>

int main(void)
{
	struct bpf_insn insn = BPF_STMT(BPF_RET | BPF_K, 96);
	struct bpf_program prog = { 1, &insn };
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 96);
	int ok = p != NULL && BPF_ALIGNMENT == sizeof(long) && BIOCSETF != 0 &&
		 bpf_filter(prog.bf_insns, (const u_char *)"", 0, 0) == 96;

	if (p)
		pcap_close(p);
	return !ok;
}
