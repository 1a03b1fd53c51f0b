// What "dpdk:" can open, for Device::list() and tapdump -D: ports the EAL
// already has, PCI functions bound to a DPDK-capable driver, and the
// virtual-device drivers installed. Starts no EAL (that takes 0.2 s and
// pins threads); a port appears once something opened or probed it.
#include <dirent.h>
#include <unistd.h>

#include <string>

#include <rte_ethdev.h>

#include "eal.hpp"
#include "entry.hpp"
#include "port.hpp"

namespace tap::detail {
namespace {

struct VirtualDriver {
	const char *library; // in RTE_EAL_PMD_PATH
	const char *example;
	const char *what;
};

constexpr VirtualDriver virtual_drivers[] = {
	{"librte_net_pcap.so", "dpdk:net_pcap0,rx_pcap=FILE.pcap", "DPDK virtual device: replay a pcap file (or iface=IF)"},
	{"librte_net_ring.so", "dpdk:net_ring0", "DPDK virtual device: loopback ring, frames written come back"},
	{"librte_net_null.so", "dpdk:net_null0", "DPDK virtual device: endless synthetic frames (benchmarks)"},
	{"librte_net_af_packet.so", "dpdk:net_af_packet0,iface=IF", "DPDK virtual device: a kernel interface over AF_PACKET"},
	{"librte_net_af_xdp.so", "dpdk:net_af_xdp0,iface=IF", "DPDK virtual device: a kernel interface over AF_XDP"},
	{"librte_net_tap.so", "dpdk:net_tap0,iface=IF", "DPDK virtual device: a new kernel tap interface"},
	{"librte_net_memif.so", "dpdk:net_memif0", "DPDK virtual device: shared-memory packet interface"},
};

} // namespace

std::vector<DeviceEntry> list_dpdk()
{
	std::vector<DeviceEntry> out;
	{
		std::lock_guard lock(dpdk::control_mutex());
		if (dpdk::eal_running()) {
			for (std::uint16_t p = 0; p < RTE_MAX_ETHPORTS; ++p) {
				if (!rte_eth_dev_is_valid_port(p))
					continue;
				char name[RTE_ETH_NAME_MAX_LEN] = "";
				rte_eth_dev_get_name_by_port(p, name);
				rte_eth_dev_info info{};
				rte_eth_dev_info_get(p, &info);
				std::string what = "DPDK port " + std::to_string(p) + " (" +
						   (info.driver_name ? info.driver_name : "?") + ")";
				// Open here, so its clock is known; under control_mutex no
				// Device can drop its Port, so this copy is never the last.
				if (auto port = dpdk::Port::find(p))
					what += ", " + port->clock_description();
				out.push_back({std::string("dpdk:") + name, std::move(what)});
			}
		}
	}
	for (const char *driver : {"vfio-pci", "uio_pci_generic", "igb_uio"}) {
		const std::string dir = std::string("/sys/bus/pci/drivers/") + driver;
		DIR *d = opendir(dir.c_str());
		if (!d)
			continue;
		while (const dirent *e = readdir(d)) {
			const std::string n = e->d_name;
			if (dpdk::looks_like_pci(n))
				out.push_back({"dpdk:" + n, std::string("PCI function bound to ") + driver});
		}
		closedir(d);
	}
	for (const auto &v : virtual_drivers) {
		const std::string path = std::string(RTE_EAL_PMD_PATH) + "/" + v.library;
		if (::access(path.c_str(), R_OK) == 0)
			out.push_back({v.example, v.what});
	}
	return out;
}

} // namespace tap::detail
