// CaptureGroup: opens the members on the spec's backend, sums their
// counters, and (run() only) gives each a thread.
#include <tap/group.hpp>

#include <unistd.h>

#include <atomic>
#include <thread>

#include "backend.hpp"
#include "bpf_backend.hpp"

namespace tap {
namespace {

std::uint32_t default_group_id()
{
	// 22 bits of pid (Linux's PID_MAX_LIMIT) and 10 of a per-process counter.
	static std::atomic<std::uint32_t> next{0};
	return static_cast<std::uint32_t>(::getpid()) << 10 | (next++ & 0x3ff);
}

unsigned int kernel_mode(const GroupOptions &g)
{
	unsigned int mode = BPF_FANOUT_HASH;
	if (g.spread == Spread::cpu)
		mode = BPF_FANOUT_CPU;
	else if (g.spread == Spread::round_robin)
		mode = BPF_FANOUT_RR;
	return g.rollover ? mode | BPF_FANOUT_ROLLOVER : mode;
}

} // namespace

// dpdk:DEVARGS: member I is receive queue I of an N-queue port, the DPDK
// backend's "dpdk:DEVARGS@I/N", which spreads by RSS with a symmetric key.
Result<CaptureGroup> CaptureGroup::open_queues(const std::string &name, std::string_view devargs,
					       const GroupOptions &group, const Options &options)
{
	if (devargs.find('@') != std::string_view::npos)
		return fail(errc::invalid_option,
			    name + ": a capture group chooses the queues itself; give dpdk:DEVARGS without @Q/N");
	if (group.spread != Spread::flow_hash || group.rollover || group.group_id)
		return fail(errc::invalid_option, name + ": dpdk: groups spread by the NIC's RSS flow hash "
							 "only (no cpu, round_robin, rollover or group_id)");
	std::vector<Device> members;
	members.reserve(group.members);
	for (std::size_t i = 0; i < group.members; ++i) {
		auto member = Device::open("dpdk:" + std::string(devargs) + "@" + std::to_string(i) + "/" +
						   std::to_string(group.members),
					   options);
		if (!member)
			return std::unexpected(std::move(member.error()));
		members.push_back(std::move(*member));
	}
	return CaptureGroup(std::move(members));
}

Result<CaptureGroup> CaptureGroup::open(std::string_view spec, const GroupOptions &group,
					const Options &options)
{
	const std::string name(spec);
	if (group.members < 1 || group.members > BPF_FANOUT_MAX_MEMBERS)
		return fail(errc::invalid_option, name + ": group members must be 1.." +
							 std::to_string(BPF_FANOUT_MAX_MEMBERS));
	if (auto ok = validate(options); !ok)
		return std::unexpected(Error{ok.error().code, name + ": " + ok.error().context});
	auto target = detail::parse_spec(spec, name);
	if (!target)
		return std::unexpected(std::move(target.error()));
	if (target->scheme == detail::Scheme::dpdk)
		return open_queues(name, target->rest, group, options);

	const detail::Fanout fanout{group.group_id.value_or(default_group_id()), kernel_mode(group)};
	std::vector<Device> members;
	members.reserve(group.members);
	for (std::size_t i = 0; i < group.members; ++i) {
		auto backend = detail::open_bpf(target->rest, options,
						name + " member " + std::to_string(i), &fanout);
		if (!backend)
			return std::unexpected(std::move(backend.error()));
		members.emplace_back(std::move(*backend));
	}
	return CaptureGroup(std::move(members));
}

Result<std::vector<Stats>> CaptureGroup::member_stats() const
{
	std::vector<Stats> out;
	out.reserve(members_.size());
	for (const Device &m : members_) {
		auto s = m.stats();
		if (!s)
			return std::unexpected(std::move(s.error()));
		out.push_back(*s);
	}
	return out;
}

Result<Stats> CaptureGroup::stats() const
{
	auto each = member_stats();
	if (!each)
		return std::unexpected(std::move(each.error()));
	Stats sum;
	for (const Stats &s : *each) {
		sum.received += s.received;
		sum.dropped += s.dropped;
		sum.accepted += s.accepted;
	}
	return sum;
}

void CaptureGroup::interrupt() noexcept
{
	for (Device &m : members_)
		m.interrupt();
}

Result<void> CaptureGroup::run(const MemberFn &fn)
{
	std::vector<std::optional<Error>> errors(members_.size());
	{
		std::vector<std::jthread> threads;
		threads.reserve(members_.size());
		for (std::size_t i = 0; i < members_.size(); ++i)
			threads.emplace_back([this, &fn, &errors, i] {
				auto r = fn(i, members_[i]);
				if (!r) {
					errors[i] = std::move(r.error());
					interrupt();
				}
			});
	}
	for (auto &e : errors)
		if (e)
			return std::unexpected(std::move(*e));
	return {};
}

} // namespace tap
