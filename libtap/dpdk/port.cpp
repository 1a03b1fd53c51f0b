// Port lifecycle: find or probe, configure queues, pools, RSS; tear down.
#include "port.hpp"

#include <algorithm>
#include <time.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <map>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>

#include "eal.hpp"
#include "rss_key.hpp"

namespace tap::dpdk {
namespace {

// Ports by device name; entries go in ~Port (always under control_mutex).
std::map<std::string, std::weak_ptr<Port>> &registry()
{
	static auto *r = new std::map<std::string, std::weak_ptr<Port>>; // outlives exit-time Devices
	return *r;
}

// Receive descriptors for Options::buffer_size: one 2 KiB mbuf each,
// a power of two in [64, 4096].
std::uint16_t descriptors_for(std::size_t buffer_size)
{
	const std::size_t n = std::clamp<std::size_t>(buffer_size / RTE_MBUF_DEFAULT_DATAROOM, 64, 4096);
	return static_cast<std::uint16_t>(std::bit_floor(n));
}

// The first port on the device called name (a device may have several).
bool find_port(const std::string &name, std::uint16_t &id)
{
	if (rte_eth_dev_get_port_by_name(name.c_str(), &id) == 0)
		return true;
	for (std::uint16_t p = 0; p < RTE_MAX_ETHPORTS; ++p) {
		rte_eth_dev_info info{};
		if (!rte_eth_dev_is_valid_port(p))
			continue;
		if (rte_eth_dev_info_get(p, &info) == 0 && info.device &&
		    name == rte_dev_name(info.device)) {
			id = p;
			return true;
		}
	}
	return false;
}

unsigned int pool_serial = 0; // unique pool names (under control_mutex)

} // namespace

Result<std::shared_ptr<Port>> Port::acquire(const Spec &spec, const Options &options,
					    const std::string &name)
{
	const std::size_t mark = log_mark();
	rte_devargs da{};
	if (rte_devargs_parse(&da, spec.devargs.c_str()) != 0)
		return fail_logged(EINVAL, name + ": rte_devargs_parse(\"" + spec.devargs +
						    "\"): no bus knows it: not a PCI address, nor a virtual device of an installed PMD (librte-net-*)",
				   mark);
	const std::string device_name = da.name;
	const std::string bus_name = da.bus ? rte_bus_name(da.bus) : "";
	rte_devargs_reset(&da);

	if (auto it = registry().find(device_name); it != registry().end()) {
		if (auto port = it->second.lock()) {
			// Another Device (another queue) already runs this port.
			if (spec.devargs != device_name && spec.devargs != port->devargs_)
				return fail_errno(EBUSY, name + ": " + device_name + " is open with other arguments (\"" +
								 port->devargs_ + "\")");
			if (spec.queues != port->queues_)
				return fail_errno(EINVAL, name + ": " + device_name + " runs with " +
								  std::to_string(port->queues_) +
								  " receive queue(s); open it as " + device_name +
								  "@Q/" + std::to_string(port->queues_));
			return port;
		}
	}

	std::shared_ptr<Port> port(new Port);
	port->device_name_ = device_name;
	port->devargs_ = spec.devargs;
	if (!find_port(device_name, port->id_)) {
		const int rc = rte_dev_probe(spec.devargs.c_str());
		if (rc < 0)
			return fail_logged(-rc, name + ": rte_dev_probe(\"" + spec.devargs + "\")", mark);
		port->probed_by_us_ = true;
		if (!find_port(device_name, port->id_)) {
			rte_eal_hotplug_remove(bus_name.c_str(), device_name.c_str()); // not a NIC: unplug
			return fail_logged(ENODEV, name + ": " + device_name + " was probed but is no ethdev port",
					   mark);
		}
	}
	rte_eth_dev_info info{};
	if (const int rc = rte_eth_dev_info_get(port->id_, &info); rc != 0)
		return fail_logged(-rc, name + ": rte_eth_dev_info_get", mark);
	port->device_ = info.device;
	port->driver_ = info.driver_name ? info.driver_name : "";
	registry()[device_name] = port;
	if (auto ok = port->configure(spec, options, name); !ok)
		return std::unexpected(std::move(ok.error())); // ~Port undoes what was done
	return port;
}

Result<void> Port::configure(const Spec &spec, const Options &options, const std::string &name)
{
	const std::size_t mark = log_mark();
	auto failed = [&](int rc, const std::string &call) {
		return fail_logged(rc < 0 ? -rc : EIO, name + ": " + call, mark);
	};
	rte_eth_dev_info info{};
	if (const int rc = rte_eth_dev_info_get(id_, &info); rc != 0)
		return failed(rc, "rte_eth_dev_info_get");
	queues_ = spec.queues;
	if (queues_ > info.max_rx_queues || queues_ > std::max<std::uint16_t>(info.max_tx_queues, 1))
		return fail_errno(EINVAL, name + ": " + device_name_ + " (" + driver_ + ") has " +
						  std::to_string(info.max_rx_queues) + " receive and " +
						  std::to_string(info.max_tx_queues) + " transmit queues; asked for " +
						  std::to_string(queues_));
	const std::uint16_t tx_queues = info.max_tx_queues ? queues_ : 0;

	rte_eth_conf conf{};
	std::vector<std::uint8_t> key;
	if (queues_ > 1 && info.flow_type_rss_offloads) {
		key = symmetric_rss_key(info.hash_key_size ? info.hash_key_size : 40);
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = key.data();
		conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<std::uint8_t>(key.size());
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
	}
	// Frames larger than one mbuf arrive as chains rather than being
	// dropped; VLAN stripping stays off, so filters see the tag (as in
	// the kernel backend).
	if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
	// A NIC's receive timestamps: the offload plus the dynfield and flag it
	// writes, registered before the queues are set up (the PMD looks them
	// up there). net_pcap stamps its own way (below). Where registering
	// fails, the port runs without the offload and stamps host time.
	const bool nic_stamps = driver_ != "net_pcap" &&
				(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) &&
				rte_mbuf_dyn_rx_timestamp_register(&ts_offset_, &ts_flag_) == 0;
	if (nic_stamps)
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
	// Receive interrupts where the PMD has them (pollable_handle); a PMD
	// that refuses the configuration gets it without.
	conf.intr_conf.rxq = 1;
	int rc = rte_eth_dev_configure(id_, queues_, tx_queues, &conf);
	if (rc != 0) {
		conf.intr_conf.rxq = 0;
		rc = rte_eth_dev_configure(id_, queues_, tx_queues, &conf);
	}
	if (rc != 0)
		return failed(rc, "rte_eth_dev_configure(" + std::to_string(queues_) + " queues)");
	configured_ = true;

	std::uint16_t mtu = RTE_ETHER_MTU;
	rte_eth_dev_get_mtu(id_, &mtu);
	max_frame_ = mtu + RTE_ETHER_HDR_LEN;
	data_room_ = std::max<std::uint32_t>(RTE_MBUF_DEFAULT_DATAROOM, (max_frame_ + 4 + 63) & ~63u);
	rte_eth_macaddr_get(id_, &mac_);

	rx_desc_ = descriptors_for(options.buffer_size);
	std::uint16_t tx_desc = 512;
	rte_eth_dev_adjust_nb_rx_tx_desc(id_, &rx_desc_, &tx_desc);
	// Every mbuf a queue can hold at once: its ring, a full batch held by
	// the reader (at most rx_desc / 2, see backend), frames in transmit,
	// plus what per-thread caches may keep.
	constexpr unsigned cache = mempool_cache;
	const unsigned mbufs = std::bit_ceil(unsigned{rx_desc_} + unsigned{max_batch} + tx_desc + 4 * cache) - 1;
	const int socket = rte_eth_dev_socket_id(id_);
	const auto sock = static_cast<unsigned>(socket < 0 ? 0 : socket);
	pools_.assign(queues_, nullptr);
	open_.assign(queues_, false);
	used_.assign(queues_, false);
	for (std::uint16_t q = 0; q < queues_; ++q) {
		const std::string pool_name = "tap" + std::to_string(pool_serial++);
		pools_[q] = rte_pktmbuf_pool_create(pool_name.c_str(), mbufs, cache, 0,
						    static_cast<std::uint16_t>(data_room_ + RTE_PKTMBUF_HEADROOM),
						    socket < 0 ? SOCKET_ID_ANY : socket);
		if (!pools_[q])
			return fail_logged(rte_errno ? rte_errno : ENOMEM,
					   name + ": rte_pktmbuf_pool_create(" + std::to_string(mbufs) +
						   " mbufs; the EAL's -m may be too small)",
					   mark);
		if ((rc = rte_eth_rx_queue_setup(id_, q, rx_desc_, sock, nullptr, pools_[q])) != 0)
			return failed(rc, "rte_eth_rx_queue_setup(" + std::to_string(q) + ")");
		if (q < tx_queues && (rc = rte_eth_tx_queue_setup(id_, q, tx_desc, sock, nullptr)) != 0)
			return failed(rc, "rte_eth_tx_queue_setup(" + std::to_string(q) + ")");
	}
	if ((rc = rte_eth_dev_start(id_)) != 0)
		return failed(rc, "rte_eth_dev_start");
	started_ = true;
	if (options.promiscuous && (rc = rte_eth_promiscuous_enable(id_)) != 0 && rc != -ENOTSUP)
		return failed(rc, "rte_eth_promiscuous_enable");

	rx_intr_ = conf.intr_conf.rxq && rte_eth_dev_rx_intr_ctl_q_get_fd(id_, 0) >= 0;
	// A NIC's ticks have no unit nor epoch of their own: they are mapped
	// through samples of rte_eth_read_clock (the same counter, ethdev
	// says), so a PMD without it (-ENOTSUP) keeps host time, its stamps
	// unused. net_pcap stamps each mbuf with the file's (or libpcap's)
	// time in microseconds since the epoch.
	if (nic_stamps) {
		if (std::uint64_t ticks; rte_eth_read_clock(id_, &ticks) == 0)
			clock_ = Clock::nic;
		else
			stamps_unreadable_ = true;
	} else if (driver_ == "net_pcap") {
		int flag_bit = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, nullptr);
		ts_offset_ = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, nullptr);
		if (flag_bit >= 0 && ts_offset_ >= 0) {
			ts_flag_ = std::uint64_t{1} << flag_bit;
			clock_ = Clock::pcap_micros;
		}
	}
	return {};
}

std::shared_ptr<Port> Port::find(std::uint16_t id)
{
	for (const auto &[name, weak] : registry())
		if (auto port = weak.lock(); port && port->id_ == id)
			return port;
	return nullptr;
}

std::string Port::clock_description() const
{
	switch (clock_) {
	case Clock::pcap_micros:
		return "timestamps: net_pcap's (µs)";
	case Clock::nic:
		return "timestamps: the NIC's clock, mapped to host time";
	case Clock::host:
		break;
	}
	if (stamps_unreadable_)
		return "timestamps: host time per burst (the PMD stamps, but has no rte_eth_read_clock)";
	return "timestamps: host time per burst";
}

Result<void> Port::claim(std::uint16_t queue, const std::string &name, bool &used_before)
{
	if (open_[queue])
		return fail_errno(EBUSY, name + ": receive queue " + std::to_string(queue) + " of " +
						 device_name_ + " is open in another Device");
	open_[queue] = true;
	used_before = used_[queue];
	used_[queue] = true;
	return {};
}

void Port::release(std::uint16_t queue) noexcept { open_[queue] = false; }

bool Port::reports_port_drops(std::uint16_t queue) const noexcept
{
	const auto first = std::find(open_.begin(), open_.end(), true);
	return first != open_.end() && first - open_.begin() == queue;
}

std::uint64_t Port::port_drops() const noexcept
{
	rte_eth_stats st{};
	if (rte_eth_stats_get(id_, &st) != 0)
		return 0;
	return st.imissed + st.rx_nombuf;
}

std::optional<ClockSample> Port::sample_clock() const noexcept
{
	auto host = [] {
		timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		return std::int64_t{ts.tv_sec} * NicClock::ns_per_s + ts.tv_nsec;
	};
	std::lock_guard lock(clock_mutex_);
	// A few back to back: the narrowest bracket was least disturbed (by
	// preemption, a slow PCIe read), so its midpoint is the truest.
	ClockSample tries[5];
	std::size_t n = 0;
	for (int i = 0; i < 5; ++i) {
		ClockSample s;
		s.host_before = host();
		if (rte_eth_read_clock(id_, &s.ticks) != 0)
			continue;
		s.host_after = host();
		tries[n++] = s;
	}
	return best_sample({tries, n});
}

void Port::teardown() noexcept
{
	if (started_)
		rte_eth_dev_stop(id_);
	started_ = false;
	if (probed_by_us_) {
		// Closing releases the ethdev; removing unplugs what we plugged.
		rte_eth_dev_close(id_);
		if (device_)
			rte_dev_remove(device_);
	}
	for (rte_mempool *p : pools_)
		rte_mempool_free(p);
	pools_.clear();
}

Port::~Port()
{
	teardown();
	if (auto it = registry().find(device_name_); it != registry().end() && it->second.expired())
		registry().erase(it);
}

} // namespace tap::dpdk
