// Device: parses the open string, picks a backend, forwards calls to it.
#include <tap/device.hpp>

#include <net/if.h>

#include <cerrno>

#include "backend.hpp"
#include "bpf_backend.hpp"
#if LIBTAP_HAVE_DPDK
#include "entry.hpp" // libtap/dpdk, linked in when DPDK was found
#endif

namespace tap {
namespace detail {

Result<std::size_t> Backend::write(std::span<const std::span<const std::byte>> frames)
{
	std::size_t sent = 0;
	for (const auto frame : frames) {
		auto r = write(frame);
		if (!r) {
			if (sent == 0)
				return std::unexpected(std::move(r.error()));
			break; // the caller's next write of the rest reports it
		}
		++sent;
	}
	return sent;
}

Result<Target> parse_spec(std::string_view spec, const std::string &name)
{
	std::string_view scheme, rest = spec;
	if (const auto colon = spec.find(':'); colon != std::string_view::npos) {
		scheme = spec.substr(0, colon);
		rest = spec.substr(colon + 1);
	}
	if (scheme == "dpdk")
		return Target{Scheme::dpdk, rest};
	if (scheme != "bpf") {
		// Interface names may contain ':' (eth0:1). A prefix of letters
		// only is a scheme, and an unknown one an error; anything else is
		// an interface name for the kernel backend.
		const bool letters = !scheme.empty() &&
				     scheme.find_first_not_of("abcdefghijklmnopqrstuvwxyz") ==
					     std::string_view::npos;
		if (letters)
			return fail(errc::unknown_backend, name + ": known backends are bpf: and dpdk:");
		rest = spec;
	}
	if (rest.empty())
		return fail(errc::invalid_option, name + ": no interface name");
	return Target{Scheme::bpf, rest};
}

} // namespace detail

namespace {

const std::string no_name;

std::unexpected<Error> moved_from(const char *call)
{
	return fail_errno(EBADF, std::string("tap::Device::") + call + " on a moved-from Device");
}

} // namespace

Result<Device> Device::open(std::string_view spec, const Options &options)
{
	const std::string name(spec);
	if (auto ok = validate(options); !ok)
		return std::unexpected(Error{ok.error().code, name + ": " + ok.error().context});

	auto target = detail::parse_spec(spec, name);
	if (!target)
		return std::unexpected(std::move(target.error()));
	if (target->scheme == detail::Scheme::dpdk) {
#if LIBTAP_HAVE_DPDK
		auto backend = detail::open_dpdk(target->rest, options, name);
		if (!backend)
			return std::unexpected(std::move(backend.error()));
		return Device(std::move(*backend));
#else
		return fail(errc::backend_unavailable,
			    name + ": libtap was built without DPDK (dpdk: is not built; install libdpdk-dev)");
#endif
	}
	if (!options.dpdk_eal_args.empty())
		return fail(errc::invalid_option, name + ": dpdk_eal_args is for dpdk: devices only");

	auto backend = detail::open_bpf(target->rest, options, name);
	if (!backend)
		return std::unexpected(std::move(backend.error()));
	return Device(std::move(*backend));
}

std::vector<DeviceEntry> Device::list()
{
	std::vector<DeviceEntry> out;
	if (struct if_nameindex *ifs = if_nameindex()) {
		for (auto *i = ifs; i->if_index != 0; ++i)
			out.push_back({i->if_name, "kernel interface (bpf:, /dev/bpf)"});
		if_freenameindex(ifs);
	}
#if LIBTAP_HAVE_DPDK
	auto dpdk = detail::list_dpdk();
	out.insert(out.end(), dpdk.begin(), dpdk.end());
#else
	out.push_back({"dpdk:", "not built (libtap was built without DPDK)"});
#endif
	return out;
}

Device::Device(std::unique_ptr<detail::Backend> backend) noexcept : backend_(std::move(backend)) {}
Device::Device(Device &&) noexcept = default;
Device &Device::operator=(Device &&) noexcept = default;
Device::~Device() = default;

Result<Batch> Device::read(std::optional<std::chrono::nanoseconds> timeout)
{
	return backend_ ? backend_->read(timeout) : moved_from("read");
}

Result<Batch> Device::try_read()
{
	return backend_ ? backend_->try_read() : moved_from("try_read");
}

void Device::interrupt() noexcept
{
	if (backend_)
		backend_->interrupt();
}

Result<void> Device::write(std::span<const std::byte> frame)
{
	return backend_ ? backend_->write(frame) : moved_from("write");
}

Result<std::size_t> Device::write(std::span<const std::span<const std::byte>> frames)
{
	return backend_ ? backend_->write(frames) : moved_from("write");
}

Result<Stats> Device::stats() const
{
	return backend_ ? backend_->stats() : moved_from("stats");
}

Result<void> Device::set_filter(const Filter &filter)
{
	return backend_ ? backend_->set_filter(filter) : moved_from("set_filter");
}

Result<Filter> Device::compile_filter(std::string_view expression) const
{
	if (!backend_)
		return moved_from("compile_filter");
	return Filter::compile(expression, datalink(), snap_length(), true, backend_->info().netmask);
}

std::optional<int> Device::pollable_handle() const noexcept
{
	return backend_ ? backend_->pollable_handle() : std::nullopt;
}

const std::string &Device::name() const noexcept { return backend_ ? backend_->info().name : no_name; }
int Device::datalink() const noexcept { return backend_ ? backend_->info().datalink : -1; }
std::uint32_t Device::snap_length() const noexcept { return backend_ ? backend_->info().snap_length : 0; }
std::size_t Device::buffer_size() const noexcept { return backend_ ? backend_->info().buffer_size : 0; }
TimestampUnit Device::timestamp_unit() const noexcept
{
	return backend_ ? backend_->info().timestamp_unit : TimestampUnit::nanoseconds;
}

} // namespace tap
