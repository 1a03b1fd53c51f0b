// An ethdev port shared by the Devices on its queues: probed (hot-plugged)
// and configured by the first, stopped, closed and removed with the last.
// One mbuf pool per queue, so a queue's reader never contends with another's.
// Every call except the accessors needs control_mutex() held; Devices also
// drop their shared_ptr under it, so the registry never sees a Port that is
// half torn down.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <rte_ether.h>

#include <tap/options.hpp>

#include "nic_clock.hpp"
#include "spec.hpp"

struct rte_mempool;
struct rte_device;

namespace tap::dpdk {

// Where a packet's time comes from.
enum class Clock : std::uint8_t {
	host,         // CLOCK_REALTIME, read once per burst that keeps a frame
	pcap_micros,  // net_pcap's timestamp dynfield: µs since the epoch (the file's stamps)
	nic,          // RTE_ETH_RX_OFFLOAD_TIMESTAMP: device ticks, mapped by a NicClock
};

class Port {
public:
	// Packets a Device's batch holds at most: freed in one bulk into the
	// pool's per-thread cache (mempool_cache), which takes 1.5 times its
	// size before it spills into the shared ring.
	static constexpr std::size_t max_batch = 256;
	static constexpr unsigned mempool_cache = 256;

	static Result<std::shared_ptr<Port>> acquire(const Spec &spec, const Options &options,
						     const std::string &name);
	// The port libtap runs on this ethdev, if a Device has it open.
	static std::shared_ptr<Port> find(std::uint16_t id);
	~Port();
	Port(const Port &) = delete;
	Port &operator=(const Port &) = delete;

	// One Device per queue: EBUSY if taken. used_before: a Device had the
	// queue earlier, so what waits in it arrived for nobody.
	Result<void> claim(std::uint16_t queue, const std::string &name, bool &used_before);
	void release(std::uint16_t queue) noexcept;
	// The queue that reports the port's own drops (imissed, rx_nombuf),
	// which DPDK does not count per queue: the lowest one open.
	bool reports_port_drops(std::uint16_t queue) const noexcept;

	std::uint16_t id() const noexcept { return id_; }
	std::uint16_t queues() const noexcept { return queues_; }
	rte_mempool *pool(std::uint16_t queue) const noexcept { return pools_[queue]; }
	std::uint16_t rx_descriptors() const noexcept { return rx_desc_; }
	std::uint32_t max_frame() const noexcept { return max_frame_; } // MTU + Ethernet header
	std::uint32_t data_room() const noexcept { return data_room_; }
	const rte_ether_addr &mac() const noexcept { return mac_; }
	Clock clock() const noexcept { return clock_; }
	// Where this port's timestamps come from, for Device::list().
	std::string clock_description() const;
	int timestamp_offset() const noexcept { return ts_offset_; }
	std::uint64_t timestamp_flag() const noexcept { return ts_flag_; }
	bool rx_interrupts() const noexcept { return rx_intr_; }
	const std::string &driver() const noexcept { return driver_; }

	// imissed + rx_nombuf of the whole port, now.
	std::uint64_t port_drops() const noexcept;
	// With Clock::nic: rte_eth_read_clock between two CLOCK_REALTIME
	// readings, the narrowest of a few tries; none if every try failed.
	// Needs no control_mutex: any queue's reader calls it, under a lock of
	// its own (some PMDs read the counter as two latched halves).
	std::optional<ClockSample> sample_clock() const noexcept;

private:
	Port() = default;
	Result<void> configure(const Spec &spec, const Options &options, const std::string &name);
	void teardown() noexcept;

	std::string device_name_; // ethdev/rte_device name ("net_pcap0", "0000:03:00.0")
	std::string devargs_;
	std::string driver_;
	rte_device *device_ = nullptr;
	bool probed_by_us_ = false;
	bool configured_ = false;
	bool started_ = false;
	std::uint16_t id_ = 0;
	std::uint16_t queues_ = 1;
	std::uint16_t rx_desc_ = 0;
	std::uint32_t max_frame_ = 0;
	std::uint32_t data_room_ = 0;
	rte_ether_addr mac_{};
	Clock clock_ = Clock::host;
	bool stamps_unreadable_ = false; // the offload, but no rte_eth_read_clock
	int ts_offset_ = -1;
	std::uint64_t ts_flag_ = 0;
	mutable std::mutex clock_mutex_; // sample_clock
	bool rx_intr_ = false;
	std::vector<rte_mempool *> pools_;
	std::vector<bool> open_;
	std::vector<bool> used_;
};

} // namespace tap::dpdk
