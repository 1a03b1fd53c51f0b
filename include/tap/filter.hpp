// A classic-BPF program for a device: compiled from a tcpdump expression by
// libpcap (pcap_open_dead + pcap_compile for a DLT and snap length), or
// taken from ready instructions. The program's return value is the snap
// length of each accepted packet; 0 drops it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <net/bpf.h>
#include <tap/error.hpp>

namespace tap {

class Filter {
public:
	// pcap_compile's PCAP_NETMASK_UNKNOWN: "ip broadcast" then fails.
	static constexpr std::uint32_t netmask_unknown = 0xffffffffu;

	// A bad expression gives errc::bad_filter with libpcap's message in
	// the context. optimize as pcap_compile's flag. netmask is the IPv4
	// netmask "ip broadcast" tests against, as pcap_lookupnet() gives it
	// (tcpdump: the interface's for a live capture, 0 for a file).
	static Result<Filter> compile(std::string_view expression, int datalink,
				      std::uint32_t snap_length, bool optimize = true,
				      std::uint32_t netmask = netmask_unknown);

	// Copies the instructions; 1..BPF_MAXINSNS of them, else invalid_option.
	// (Full validation is the kernel's, at BIOCSETF.)
	static Result<Filter> from_instructions(std::span<const struct bpf_insn> instructions);
	static Result<Filter> from_program(const struct bpf_program &program);

	// "ret #snap_length": every packet, cut to snap_length bytes.
	static Filter accept_all(std::uint32_t snap_length);

	std::span<const struct bpf_insn> instructions() const noexcept { return insns_; }
	// Empty unless made by compile().
	const std::string &expression() const noexcept { return expression_; }
	// The most bytes it keeps of a packet: its largest "ret #k", capped at
	// max_snap; max_snap when it also returns A (a value found at run time).
	std::uint32_t snap_length(std::uint32_t max_snap) const noexcept;
	// A bpf_program view for BIOCSETF; valid while this Filter lives.
	struct bpf_program program() const noexcept;

private:
	Filter(std::vector<struct bpf_insn> insns, std::string expression)
		: insns_(std::move(insns)), expression_(std::move(expression))
	{
	}

	std::vector<struct bpf_insn> insns_;
	std::string expression_;
};

} // namespace tap
