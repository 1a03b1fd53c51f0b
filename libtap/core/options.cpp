// Option ranges, checked before a device is touched.
#include <tap/options.hpp>

#include <limits>

#include <net/bpf.h>

namespace tap {
namespace {

std::unexpected<Error> bad(std::string what)
{
	return fail(errc::invalid_option, std::move(what));
}

} // namespace

Result<void> validate(const Options &o)
{
	if (o.buffer_size < BPF_MINBUFSIZE ||
	    o.buffer_size > std::numeric_limits<std::int32_t>::max())
		return bad("buffer_size " + std::to_string(o.buffer_size) + " (at least " +
			   std::to_string(BPF_MINBUFSIZE) + " bytes, below 2 GiB)");
	if (o.snap_length == 0 || o.snap_length > Options::max_snap_length)
		return bad("snap_length " + std::to_string(o.snap_length) + " (1.." +
			   std::to_string(Options::max_snap_length) + ")");
	if (o.read_timeout.count() < 0)
		return bad("read_timeout " + std::to_string(o.read_timeout.count()) + " ms (negative)");
	switch (o.direction) {
	case Direction::in:
	case Direction::out:
	case Direction::inout:
		break;
	default:
		return bad("direction " + std::to_string(static_cast<int>(o.direction)));
	}
	if (!o.filter.empty() && o.filter_program)
		return bad("filter and filter_program both set (give one)");
	return {};
}

} // namespace tap
