// Opening a "dpdk:" Device: options, EAL, port, queue, filter.
#include <sys/eventfd.h>

#include <cerrno>

#include <pcap/dlt.h>
#include <rte_ethdev.h>

#include "dpdk_backend.hpp"
#include "eal.hpp"
#include "entry.hpp"
#include "spec.hpp"

namespace tap::detail {

using dpdk::DpdkBackend;
using dpdk::Port;

namespace {

// What the kernel backend would do with these options that DPDK cannot.
Result<void> check_options(const Options &o, const std::string &name)
{
	if (o.direction == Direction::out)
		return fail(errc::invalid_option,
			    name + ": direction out: a DPDK receive queue sees only frames the port "
				   "received (in; inout means the same here)");
	return {};
}

} // namespace

Result<std::unique_ptr<Backend>> open_dpdk(std::string_view devargs, const Options &options,
					   const std::string &name)
{
	if (auto ok = check_options(options, name); !ok)
		return std::unexpected(std::move(ok.error()));
	auto spec = dpdk::parse_spec(devargs, name);
	if (!spec)
		return std::unexpected(std::move(spec.error()));

	// The filter first: a bad expression needs no EAL. Every ethdev port
	// is Ethernet.
	std::optional<Filter> filter = options.filter_program;
	if (!options.filter.empty()) {
		auto compiled = Filter::compile(options.filter, DLT_EN10MB, options.snap_length);
		if (!compiled)
			return fail(compiled.error().code, name + ": " + compiled.error().context);
		filter = std::move(*compiled);
	}

	UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!wake)
		return fail_errno(errno, name + ": eventfd");

	std::shared_ptr<Port> port;
	bool used_before = false;
	{
		// Every shared_ptr<Port> is dropped under this lock (port.hpp);
		// a failed claim drops the acquired one before unlocking.
		std::lock_guard lock(dpdk::control_mutex());
		if (auto ok = dpdk::ensure_eal(options.dpdk_eal_args, spec->devargs, name); !ok)
			return std::unexpected(std::move(ok.error()));
		auto acquired = Port::acquire(*spec, options, name);
		if (!acquired)
			return std::unexpected(std::move(acquired.error()));
		if (auto ok = (*acquired)->claim(spec->queue, name, used_before); !ok)
			return std::unexpected(std::move(ok.error()));
		port = std::move(*acquired);
	}

	DeviceInfo info{name, DLT_EN10MB, options.snap_length, 0, TimestampUnit::nanoseconds};
	info.buffer_size = std::size_t{port->rx_descriptors()} * port->data_room();
	auto backend = std::make_unique<DpdkBackend>(std::move(port), spec->queue, options,
						     std::move(info), std::move(wake), used_before);
	if (filter) {
		if (auto ok = backend->set_filter(*filter); !ok)
			return std::unexpected(std::move(ok.error())); // ~DpdkBackend releases the queue
	}
	return std::unique_ptr<Backend>(std::move(backend));
}

} // namespace tap::detail
