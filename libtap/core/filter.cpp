// Filter: libpcap compiles expressions; we own a copy of the instructions.
#include <tap/filter.hpp>

#include <algorithm>
#include <memory>
#include <mutex>

#include <pcap/pcap.h>

namespace tap {
namespace {

struct PcapCloser {
	void operator()(pcap_t *p) const noexcept { pcap_close(p); }
};

// libpcap before 1.10 kept compiler state in globals; serialise to be safe
// whatever version we run against.
std::mutex compile_mutex;

} // namespace

Result<Filter> Filter::compile(std::string_view expression, int datalink,
			       std::uint32_t snap_length, bool optimize, std::uint32_t netmask)
{
	const std::string text(expression);
	const std::string context = "filter \"" + text + "\"";
	std::unique_ptr<pcap_t, PcapCloser> dead(pcap_open_dead(datalink, static_cast<int>(snap_length)));
	if (!dead)
		return fail(errc::bad_filter, context + ": pcap_open_dead failed for link type " +
						      std::to_string(datalink));

	struct bpf_program prog {};
	std::lock_guard lock(compile_mutex);
	static_assert(netmask_unknown == PCAP_NETMASK_UNKNOWN);
	if (pcap_compile(dead.get(), &prog, text.c_str(), optimize ? 1 : 0, netmask) != 0)
		return fail(errc::bad_filter, context + ": " + pcap_geterr(dead.get()));

	std::vector<struct bpf_insn> insns(prog.bf_insns, prog.bf_insns + prog.bf_len);
	pcap_freecode(&prog);
	return Filter(std::move(insns), text);
}

Result<Filter> Filter::from_instructions(std::span<const struct bpf_insn> instructions)
{
	if (instructions.empty() || instructions.size() > BPF_MAXINSNS)
		return fail(errc::invalid_option,
			    "filter program of " + std::to_string(instructions.size()) +
				    " instructions (1.." + std::to_string(BPF_MAXINSNS) + " allowed)");
	return Filter({instructions.begin(), instructions.end()}, {});
}

Result<Filter> Filter::from_program(const struct bpf_program &program)
{
	if (program.bf_len != 0 && program.bf_insns == nullptr)
		return fail(errc::invalid_option, "filter program with null instructions");
	return from_instructions({program.bf_insns, program.bf_len});
}

Filter Filter::accept_all(std::uint32_t snap_length)
{
	return Filter({BPF_STMT(BPF_RET | BPF_K, snap_length)}, {});
}

std::uint32_t Filter::snap_length(std::uint32_t max_snap) const noexcept
{
	std::uint32_t most = 0;
	for (const struct bpf_insn &insn : insns_) {
		if (BPF_CLASS(insn.code) != BPF_RET)
			continue;
		if (BPF_RVAL(insn.code) != BPF_K)
			return max_snap;
		most = std::max(most, insn.k);
	}
	return std::min(most, max_snap);
}

struct bpf_program Filter::program() const noexcept
{
	// BIOCSETF takes a non-const pointer but only reads through it.
	return {static_cast<unsigned int>(insns_.size()), const_cast<struct bpf_insn *>(insns_.data())};
}

} // namespace tap
