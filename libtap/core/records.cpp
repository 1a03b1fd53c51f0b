// The cold half of the record walk: why it stopped. scan_records is the
// walk run to its end up front.
#include <tap/records.hpp>

namespace tap {
namespace {

// What is wrong with the record at offset, which enter() refused.
errc classify(const std::byte *base, std::size_t size, std::size_t offset) noexcept
{
	const std::size_t left = size - offset;
	if (left < record_header_size)
		return errc::truncated_header;
	const auto f = detail::read_fields(base + offset);
	if (f.hdrlen < record_header_size)
		return errc::header_too_short;
	if (std::size_t{f.hdrlen} + f.caplen > left)
		return errc::record_past_end;
	return errc::caplen_exceeds_wirelen;
}

} // namespace

std::string ParseStatus::where() const
{
	return "capture buffer of " + std::to_string(buffer_size) + " bytes, record at offset " +
	       std::to_string(error_offset);
}

void detail::report_corrupt(ParseStatus *status, std::span<const std::byte> buffer,
			    std::size_t offset) noexcept
{
	if (status && !status->error)
		*status = {classify(buffer.data(), buffer.size(), offset), offset, buffer.size()};
}

ScanResult scan_records(std::span<const std::byte> buffer) noexcept
{
	ScanResult result;
	if (buffer.empty())
		return result;
	if (!detail::aligned(buffer)) {
		result.error = errc::misaligned_buffer;
		return result;
	}
	ParseStatus status;
	for (RecordIterator it(buffer, TimestampUnit::nanoseconds, &status); it != std::default_sentinel; ++it)
		++result.packets;
	result.error = status.error;
	result.error_offset = status.error_offset;
	return result;
}

} // namespace tap
