// tap::Device: one capture/injection endpoint, opened from a string.
//
//   "bpf:eth0"  kernel backend: a free /dev/bpf descriptor attached to eth0
//   "eth0"      the same (a name without a known "scheme:" prefix)
//   "dpdk:DEVARGS"        DPDK poll-mode backend: DEVARGS is a PCI address
//                         (0000:03:00.0, bound to vfio-pci) or a virtual
//                         device (net_pcap0,rx_pcap=in.pcap; net_ring0;
//                         net_null0; net_af_packet0,iface=eth0; net_tap0),
//                         probed (hot-plugged) after the EAL starts
//   "dpdk:DEVARGS@Q/N"    receive queue Q (0..N-1) of a port run with N
//                         queues: RSS with a symmetric key, so both
//                         directions of a flow meet on one queue; each
//                         queue is its own Device, read by its own thread.
//                         Every Device on the port must give the same N.
// A build without DPDK gives errc::backend_unavailable for "dpdk:".
// The DPDK backend (libtap/dpdk/, README "DPDK") starts one EAL per process
// (Options::dpdk_eal_args), busy-polls its queue in read(), filters with
// libtap's own classic-BPF engine, and stops and closes a port with the last
// Device on it.
// DPDK timestamps (ns since the epoch): net_pcap's own (the file's, µs); a
// NIC's hardware stamp (RTE_ETH_RX_OFFLOAD_TIMESTAMP) mapped to CLOCK_REALTIME
// through samples of rte_eth_read_clock, where the PMD has both (host time for
// the first 100 ms); else host time read once per burst. list() names the
// source of each port open in this process.
//
// Every call returns Result<T> (std::expected<T, tap::Error>). No threads are
// created. A Device is used from one thread at a time, except interrupt(),
// which any thread (or a signal handler) may call while the Device lives:
// interrupt the reader and join it before destroying or moving the Device.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tap/batch.hpp>
#include <tap/error.hpp>
#include <tap/filter.hpp>
#include <tap/options.hpp>

namespace tap {

struct Stats {
	// Packets the device saw on the interface (before the filter).
	std::uint64_t received = 0;
	// Packets the filter accepted that were lost for want of buffer space.
	std::uint64_t dropped = 0;
	// Packets the filter accepted: delivered, waiting, or dropped.
	std::uint64_t accepted = 0;
};

// What Device::list() found: a string Device::open takes, and what it is.
struct DeviceEntry {
	std::string spec;
	std::string description;
};

namespace detail {
class Backend;
}

class Device {
public:
	static Result<Device> open(std::string_view spec, const Options &options = {});
	// What both backends can open: every network interface (kernel), and
	// for DPDK the ports already probed, PCI functions bound to a DPDK
	// driver and the virtual-device drivers installed (tapdump -D).
	static std::vector<DeviceEntry> list();

	Device(Device &&) noexcept;
	Device &operator=(Device &&) noexcept;
	Device(const Device &) = delete;
	Device &operator=(const Device &) = delete;
	~Device();

	// Wait up to timeout (forever if none) for packets and return them as
	// one batch; an empty batch when the time ran out. The previous batch's
	// views become invalid. After interrupt(): an error with
	// std::errc::interrupted; interrupts made before a read are kept for
	// it, several of them counting as one. Records are checked as the
	// batch is iterated, never read out of bounds: a corrupt one ends the
	// batch (Batch::error()), and the next read returns that error (tap::errc).
	Result<Batch> read(std::optional<std::chrono::nanoseconds> timeout = std::nullopt);
	// Whatever is ready now, possibly nothing; never blocks. Ignores a
	// pending interrupt (it stays for the next read()).
	Result<Batch> try_read();
	// Wake a read() blocked in another thread, or make the next read()
	// return at once. Async-signal-safe; a no-op on a moved-from Device.
	void interrupt() noexcept;

	// One frame, link-layer header included.
	Result<void> write(std::span<const std::byte> frame);
	// Frames in order until one fails. Returns how many went out; when
	// that is fewer than frames.size(), the next write of the remainder
	// reports the error (as sendmmsg does). An error only if none went out.
	Result<std::size_t> write(std::span<const std::span<const std::byte>> frames);

	Result<Stats> stats() const;

	// Replace the filter. Its largest return value becomes snap_length().
	// Kernel backend: what the module buffered unread is discarded (as
	// BIOCSETF does), except a zero-copy buffer it already handed over,
	// whose frames, chosen by the old filter, still come. DPDK: the frames
	// still in the receive ring meet the new filter at the next read.
	// (A filter given in Options holds from the first frame on both.)
	Result<void> set_filter(const Filter &filter);
	// Compile an expression for this device's link type and snap length.
	Result<Filter> compile_filter(std::string_view expression) const;

	// A descriptor to poll/epoll for readability, where the backend has one.
	std::optional<int> pollable_handle() const noexcept;

	const std::string &name() const noexcept; // the spec it was opened with
	int datalink() const noexcept;            // DLT_* of the interface
	std::uint32_t snap_length() const noexcept;
	std::size_t buffer_size() const noexcept; // as granted by the backend
	TimestampUnit timestamp_unit() const noexcept;

	// For backends and tests: wrap a backend.
	explicit Device(std::unique_ptr<detail::Backend> backend) noexcept;

private:
	std::unique_ptr<detail::Backend> backend_;
};

} // namespace tap
