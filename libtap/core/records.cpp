// scan_records: the one place a capture buffer's bounds are checked.
#include <tap/records.hpp>

#include <bit>
#include <cstdint>

namespace tap {

ScanResult scan_records(std::span<const std::byte> buffer) noexcept
{
	ScanResult result;
	const std::byte *base = buffer.data();
	const std::size_t size = buffer.size();
	if (size == 0)
		return result;
	// The kernel fills a buffer we allocate aligned; anything else is a
	// caller's slice that breaks the alignment the format promises.
	if (std::bit_cast<std::uintptr_t>(base) % record_alignment != 0) {
		result.error = errc::misaligned_buffer;
		return result;
	}

	std::size_t offset = 0;
	std::size_t packets = 0;
	while (offset < size) {
		const std::size_t left = size - offset;
		std::error_code bad;
		if (left < record_header_size) {
			bad = errc::truncated_header;
		} else {
			const auto f = detail::read_fields(base + offset);
			if (f.hdrlen < record_header_size)
				bad = errc::header_too_short;
			else if (f.hdrlen > left || f.caplen > left - f.hdrlen)
				bad = errc::record_past_end;
			else if (f.caplen > f.datalen)
				bad = errc::caplen_exceeds_wirelen;
			else {
				++packets;
				offset += align_record(std::size_t{f.hdrlen} + f.caplen);
				continue;
			}
		}
		result.error = bad;
		result.error_offset = offset;
		break;
	}
	result.packets = packets;
	return result;
}

} // namespace tap
