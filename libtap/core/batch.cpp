// Batch: the two ways to make one, and counting.
#include <tap/batch.hpp>

namespace tap {

Result<Batch> Batch::parse(std::span<const std::byte> buffer, TimestampUnit unit)
{
	const ScanResult scan = scan_records(buffer);
	if (!scan.ok())
		return fail(scan.error, ParseStatus{scan.error, scan.error_offset, buffer.size()}.where());
	return Batch(buffer, unit, nullptr);
}

Batch Batch::walk(std::span<const std::byte> buffer, TimestampUnit unit, ParseStatus &status) noexcept
{
	status = {};
	if (!detail::aligned(buffer)) {
		status = {errc::misaligned_buffer, 0, buffer.size()};
		return Batch({}, unit, &status);
	}
	return Batch(buffer, unit, &status);
}

Batch Batch::views(std::span<const PacketView> views) noexcept
{
	Batch b;
	b.views_ = views.empty() ? std::span<const PacketView>() : views;
	return b;
}

std::size_t Batch::count() const noexcept
{
	if (!views_.empty())
		return views_.size();
	std::size_t n = 0;
	for (auto it = begin(); it != end(); ++it)
		++n;
	return n;
}

} // namespace tap
