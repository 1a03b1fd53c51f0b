#include "dpdk_engine.hpp"

#include <pcap/pcap.h>
#include <rte_bpf.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include <array>
#include <cstring>

namespace tap::cbpf::bench {
namespace {

std::vector<rte_mbuf *> mbufs;

bool small_immediate_jset(const rte_bpf_prm &prm)
{
	for (std::uint32_t i = 0; i < prm.nb_ins; ++i) {
		const ebpf_insn &ins = prm.ins[i];
		if (ins.code == (BPF_JMP | BPF_JSET | BPF_K) && ins.imm >= -128 && ins.imm <= 127)
			return true;
	}
	return false;
}

} // namespace

bool DpdkJit::setup(const std::vector<std::vector<std::uint8_t>> &packets, std::string &why)
{
	std::array<const char *, 9> args = {"bench_cbpf", "-l", "0", "--no-huge", "--no-pci", "-m", "256",
					    "--no-shconf", "--log-level=*:error"};
	if (rte_eal_init(static_cast<int>(args.size()), const_cast<char **>(args.data())) < 0) {
		why = std::string("rte_eal_init: ") + rte_strerror(rte_errno);
		return false;
	}
	rte_mempool *pool = rte_pktmbuf_pool_create("bench", static_cast<unsigned>(packets.size() + 64), 0, 0,
						    RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (pool == nullptr) {
		why = std::string("rte_pktmbuf_pool_create: ") + rte_strerror(rte_errno);
		return false;
	}
	for (const auto &p : packets) {
		rte_mbuf *m = rte_pktmbuf_alloc(pool);
		char *dst = m ? rte_pktmbuf_append(m, static_cast<std::uint16_t>(p.size())) : nullptr;
		if (dst == nullptr) {
			why = "packet does not fit an mbuf";
			return false;
		}
		std::memcpy(dst, p.data(), p.size());
		mbufs.push_back(m);
	}
	return true;
}

std::unique_ptr<DpdkJit> DpdkJit::create(const bpf_program &program, std::string &why)
{
	rte_bpf_prm *prm = rte_bpf_convert(&program);
	if (prm == nullptr) {
		why = std::string("rte_bpf_convert failed: ") + rte_strerror(rte_errno);
		return nullptr;
	}
	const bool crashes = small_immediate_jset(*prm);
	rte_bpf *bpf = rte_bpf_load(prm);
	rte_free(prm);
	if (bpf == nullptr) {
		why = std::string("rte_bpf_load failed: ") + rte_strerror(rte_errno);
		return nullptr;
	}
	std::unique_ptr<DpdkJit> jit(new DpdkJit(bpf));
	jit->jit_crashes_ = crashes;
	if (jit->jit_ == nullptr) {
		why = "no JIT code";
		return nullptr;
	}
	return jit;
}

DpdkJit::DpdkJit(void *bpf) noexcept : bpf_(bpf), jit_(nullptr)
{
	rte_bpf_jit info{};
	if (rte_bpf_get_jit(static_cast<rte_bpf *>(bpf), &info) == 0)
		jit_ = info.func;
}

DpdkJit::~DpdkJit() { rte_bpf_destroy(static_cast<rte_bpf *>(bpf_)); }

std::uint32_t DpdkJit::run(std::size_t packet) const noexcept
{
	return static_cast<std::uint32_t>(jit_(mbufs[packet]));
}

std::uint32_t DpdkJit::run_interpreter(std::size_t packet) const noexcept
{
	return static_cast<std::uint32_t>(rte_bpf_exec(static_cast<const rte_bpf *>(bpf_), mbufs[packet]));
}

std::size_t DpdkJit::packet_count() noexcept { return mbufs.size(); }

} // namespace tap::cbpf::bench
