// Parsing "DEVARGS[@Q/N]". '@' appears in no PCI address and in no devargs
// of the PMDs libtap is tested with, so the last '@' starts the queue part.
#include "spec.hpp"

#include <charconv>

namespace tap::dpdk {
namespace {

bool to_u16(std::string_view s, std::uint16_t &out)
{
	const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
	return !s.empty() && r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

} // namespace

Result<Spec> parse_spec(std::string_view text, const std::string &name)
{
	Spec spec;
	auto bad = [&](const std::string &why) {
		return fail(errc::invalid_option, name + ": " + why +
							  " (dpdk:DEVARGS or dpdk:DEVARGS@QUEUE/QUEUES)");
	};
	std::string_view devargs = text;
	if (const auto at = text.rfind('@'); at != std::string_view::npos) {
		devargs = text.substr(0, at);
		const std::string_view q = text.substr(at + 1);
		const auto slash = q.find('/');
		if (slash == std::string_view::npos || !to_u16(q.substr(0, slash), spec.queue) ||
		    !to_u16(q.substr(slash + 1), spec.queues))
			return bad("queue part \"@" + std::string(q) + "\" is not QUEUE/QUEUES");
		if (spec.queues == 0 || spec.queue >= spec.queues)
			return bad("queue " + std::to_string(spec.queue) + " of " +
				   std::to_string(spec.queues) + " does not exist");
		spec.queue_given = true;
	}
	if (devargs.empty() || devargs.front() == ',')
		return bad("no device name");
	spec.devargs = devargs;
	return spec;
}

} // namespace tap::dpdk
