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
	std::size_t step = 0;
	while (offset < size) {
		const std::size_t left = size - offset;
		if (left < record_header_size) [[unlikely]] {
			result.error = errc::truncated_header;
			break;
		}
		const auto f = detail::read_fields(base + offset);
		// One well-predicted branch for all checks (hot path); which one
		// failed is worked out only on the way out.
		const std::size_t hdrlen = f.hdrlen, caplen = f.caplen;
		const bool bad = (hdrlen < record_header_size) | (hdrlen + caplen > left) |
				 (caplen > f.datalen);
		if (bad) [[unlikely]] {
			result.error = hdrlen < record_header_size ? errc::header_too_short
				       : hdrlen + caplen > left    ? errc::record_past_end
								   : errc::caplen_exceeds_wirelen;
			break;
		}
		++packets;
		offset = detail::next_offset(offset, align_record(hdrlen + caplen), step);
	}
	if (result.error)
		result.error_offset = offset;
	result.packets = packets;
	return result;
}

} // namespace tap
