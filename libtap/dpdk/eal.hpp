// The process's one DPDK EAL: started by the first "dpdk:" open, never
// stopped (DPDK cannot restart it, and a Device destroyed during exit must
// still find it). Its log goes into a bounded buffer, so a failed call can
// put EAL's and the PMDs' own words into the tap::Error.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include <tap/error.hpp>

namespace tap::dpdk {

// Serialises everything that changes ports: probe, configure, close.
std::mutex &control_mutex();

// Start the EAL if it is not running. explicit_args: Options::dpdk_eal_args
// (empty: LIBTAP_DPDK_EAL_ARGS, else defaults). first_devargs picks the
// default PCI policy (a PCI address is allowed in, else --no-pci).
// Caller holds control_mutex().
Result<void> ensure_eal(const std::vector<std::string> &explicit_args, std::string_view first_devargs,
			const std::string &name);
bool eal_running() noexcept;

// The EAL line libtap uses when nothing else is given.
std::vector<std::string> default_eal_args(std::string_view first_devargs);

// Log text since a mark (a position in everything EAL logged).
std::size_t log_mark();
std::string log_since(std::size_t mark);
// errno err with context plus whatever EAL logged since mark.
std::unexpected<Error> fail_logged(int err, std::string context, std::size_t mark);

// Give the calling thread an lcore id (once), so mempool caches work for
// readers that are not the EAL's main thread.
void register_thread() noexcept;

// A PCI address (DDDD:BB:DD.F or BB:DD.F) rather than a vdev name.
bool looks_like_pci(std::string_view devargs) noexcept;

} // namespace tap::dpdk
