// Batch::parse: scan once, then hand out unchecked iteration.
#include <tap/batch.hpp>

#include <string>

namespace tap {

Result<Batch> Batch::parse(std::span<const std::byte> buffer, TimestampUnit unit)
{
	const ScanResult scan = scan_records(buffer);
	if (!scan.ok())
		return fail(scan.error, "capture buffer of " + std::to_string(buffer.size()) +
					       " bytes, record at offset " +
					       std::to_string(scan.error_offset));
	return Batch(buffer, scan.packets, unit);
}

} // namespace tap
