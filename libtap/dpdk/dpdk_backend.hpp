// The DPDK backend of tap::Device: one receive queue (and the transmit
// queue of the same number) of a port, read by busy polling.
//
// A read hands over a Batch of views into the burst's mbufs (zero copy);
// they stay held until the next read, try_read or close, which frees them.
// The filter (libtap's classic-BPF engine, JIT where it can) runs as each
// mbuf arrives; a rejected mbuf is freed at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <tap/cbpf/filter.hpp>

#include "backend.hpp"
#include "port.hpp"
#include "unique_fd.hpp"

struct rte_mbuf;
struct rte_mempool;

namespace tap::dpdk {

class DpdkBackend final : public detail::Backend {
public:
	DpdkBackend(std::shared_ptr<Port> port, std::uint16_t queue, const Options &options,
		    detail::DeviceInfo info, detail::UniqueFd wake, bool drain);
	~DpdkBackend() override;

	Result<Batch> read(std::optional<std::chrono::nanoseconds> timeout) override;
	Result<Batch> try_read() override;
	void interrupt() noexcept override;
	Result<void> write(std::span<const std::byte> frame) override;
	Result<std::size_t> write(std::span<const std::span<const std::byte>> frames) override;
	Result<Stats> stats() const override;
	Result<void> set_filter(const Filter &filter) override;
	std::optional<int> pollable_handle() const noexcept override;

	// Packets a batch holds at most: half the receive ring, at most 256.
	std::size_t batch_capacity() const noexcept { return held_.size(); }

private:
	void release_batch() noexcept;
	// One rx_burst into the free slots; the number of mbufs it returned.
	std::uint16_t poll_once();
	template <bool Filtered>
	void take_burst(rte_mbuf *const *burst, std::uint16_t n);
	// The map from the timestamp dynfield to ns for this burst (refreshing
	// a NIC clock's when due); false: host time.
	bool stamp_map(NicClock::Map &map) noexcept;
	void refresh_nic_clock() noexcept;
	bool consume_interrupt() noexcept;
	void idle_wait(std::chrono::nanoseconds slice);
	Result<void> check_frame(std::span<const std::byte> frame) const;
	rte_mbuf *make_mbuf(std::span<const std::byte> frame) const;
	std::unexpected<Error> sys_error(int err, const std::string &call) const;

	std::shared_ptr<Port> port_;
	const std::uint16_t port_id_;
	const std::uint16_t queue_;
	rte_mempool *const pool_; // the queue's: where plain mbufs go back
	const bool header_complete_;
	const bool immediate_;
	const std::chrono::nanoseconds read_timeout_;
	const Clock clock_;          // the port's, copied: read per burst
	const int ts_offset_;        // with Clock::pcap_micros: the stamp's dynfield
	const std::uint64_t ts_flag_; // and the ol_flags bit saying it is set
	NicClock nic_clock_;          // with Clock::nic: this queue's own map
	std::uint64_t nic_due_ = 0;   // rte_get_timer_cycles() when it wants a sample
	std::uint32_t snap_ = 0;
	std::optional<cbpf::Filter> filter_;

	std::vector<rte_mbuf *> held_;    // the current batch's mbufs (capacity fixed)
	std::vector<PacketView> views_;   // one per held mbuf
	std::size_t count_ = 0;           // held now
	bool plain_ = true;               // every held mbuf is plain_mbuf(): freed in one put
	std::vector<std::vector<std::byte>> linear_; // multi-segment packets, copied whole

	std::uint64_t seen_ = 0;     // taken from the queue, before the filter
	std::uint64_t accepted_ = 0; // the filter kept
	std::uint64_t drops_base_ = 0; // port_drops() when this Device opened

	std::atomic<bool> interrupted_{false};
	detail::UniqueFd wake_; // eventfd: interrupt() wakes an idle read sleeping in ppoll
	int rx_intr_fd_ = -1;
};

} // namespace tap::dpdk
