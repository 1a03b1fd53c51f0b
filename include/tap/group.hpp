// tap::CaptureGroup: one capture spread over N member Devices, one per
// reading thread, each seeing a share of the traffic and all of it between
// them.
//
//   "bpf:eth0"  N /dev/bpf descriptors in one kernel fan-out group
//               (BIOCSFANOUT): each frame goes to exactly one member
//   "dpdk:DEVARGS"  the port's N receive queues, member I on queue I (the
//               DPDK backend's "dpdk:DEVARGS@I/N"), spread by RSS with a
//               symmetric key: flow_hash only
//
// Every member is an ordinary tap::Device with the group's Options (filter,
// buffer size, ...). No threads are created, except by run(), which runs a
// callable per member on a thread of its own and joins them all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tap/device.hpp>

namespace tap {

enum class Spread : std::uint8_t {
	flow_hash,   // symmetric: both directions of a flow go to one member
	cpu,         // the CPU the packet arrived on
	round_robin, // in turn
};

struct GroupOptions {
	std::size_t members = 2;          // 1..256
	Spread spread = Spread::flow_hash;
	// Hand a packet to the next member when the chosen one has no room,
	// before counting a drop.
	bool rollover = false;
	// The kernel group id on the interface; by default one unique to this
	// process and group (pid and a counter), so two programs never merge.
	std::optional<std::uint32_t> group_id;
};

class CaptureGroup {
public:
	static Result<CaptureGroup> open(std::string_view spec, const GroupOptions &group,
					 const Options &options = {});

	std::size_t size() const noexcept { return members_.size(); }
	Device &operator[](std::size_t i) noexcept { return members_[i]; }
	std::span<Device> members() noexcept { return members_; }

	// Each member's counters, in member order.
	Result<std::vector<Stats>> member_stats() const;
	// The members' counters added up: the whole capture's.
	Result<Stats> stats() const;

	// interrupt() every member (async-signal-safe).
	void interrupt() noexcept;

	// Runs fn(index, member) for every member, each on its own thread, and
	// returns when all have returned: the error of the lowest-numbered
	// member that failed, else success. When one member fails the others
	// are interrupted, so the group stops together.
	using MemberFn = std::function<Result<void>(std::size_t index, Device &member)>;
	Result<void> run(const MemberFn &fn);

private:
	explicit CaptureGroup(std::vector<Device> members) : members_(std::move(members)) {}
	static Result<CaptureGroup> open_queues(const std::string &name, std::string_view devargs,
						const GroupOptions &group, const Options &options);
	std::vector<Device> members_;
};

} // namespace tap
