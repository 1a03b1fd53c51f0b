// libFuzzer target for the capture-buffer parser (built with clang, see
// CMakeLists.txt). Checks: neither scan_records nor the record walk ever
// reads outside the buffer (ASan), and on any buffer the walk yields exactly
// the packets the scan counted and stops at the same error.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <tap/records.hpp>

using namespace tap;

namespace {

void check(std::span<const std::byte> buf, TimestampUnit unit)
{
	const ScanResult scan = scan_records(buf);
	if (!scan.ok() && scan.error_offset >= buf.size() && !buf.empty())
		std::abort();
	// The record-by-record walk, on any buffer, corrupt or not: it stays
	// inside the buffer and agrees with the scan on the records and the error.
	ParseStatus status;
	std::size_t n = 0;
	unsigned sum = 0;
	for (RecordIterator it(buf, unit, &status); it != std::default_sentinel; ++it) {
		const PacketView p = *it;
		const auto *lo = buf.data(), *hi = buf.data() + buf.size();
		if (p.bytes().data() < lo + record_header_size || p.bytes().data() + p.captured_length() > hi)
			std::abort();
		if (p.captured_length() > p.wire_length())
			std::abort();
		if (!p.bytes().empty()) // touch both ends: ASan checks them
			sum += static_cast<unsigned>(p.bytes().front()) + static_cast<unsigned>(p.bytes().back());
		if (++n > scan.packets)
			std::abort();
	}
	if (n != scan.packets)
		std::abort();
	if (status.error != scan.error || (scan.error && status.error_offset != scan.error_offset))
		std::abort();
	volatile unsigned sink = sum;
	(void)sink;
}

// Mode 1: the input describes records (hdrlen extra, caplen, wire extra,
// flags) so the fuzzer reaches long valid buffers with a corrupt tail.
std::vector<std::byte> build(const std::uint8_t *d, std::size_t n)
{
	std::vector<std::byte> out;
	for (std::size_t i = 0; i + 4 <= n; i += 4) {
		const std::uint16_t hdrlen = static_cast<std::uint16_t>(record_header_size + (d[i] % 16) - (d[i + 3] & 1 ? 26 : 0));
		const std::uint32_t caplen = d[i + 1];
		const std::uint32_t datalen = caplen + d[i + 2] - (d[i + 3] & 2 ? 3 : 0);
		const std::size_t at = out.size();
		out.resize(at + std::max<std::size_t>(record_header_size, hdrlen) + caplen);
		std::memcpy(out.data() + at + offsetof(struct bpf_xhdr, bh_caplen), &caplen, 4);
		std::memcpy(out.data() + at + offsetof(struct bpf_xhdr, bh_datalen), &datalen, 4);
		std::memcpy(out.data() + at + offsetof(struct bpf_xhdr, bh_hdrlen), &hdrlen, 2);
		if (!(d[i + 3] & 4))
			out.resize(align_record(out.size()));
	}
	if (n % 4)
		out.resize(out.size() - std::min(out.size(), std::size_t{d[n - 1]} % 8));
	return out;
}

void check_exact(const std::byte *data, std::size_t size)
{
	// An allocation of exactly size bytes, so any over-read is caught.
	std::unique_ptr<std::byte[]> copy(new std::byte[size]);
	if (size)
		std::memcpy(copy.get(), data, size);
	check({copy.get(), size}, TimestampUnit::nanoseconds);
	check({copy.get(), size}, TimestampUnit::microseconds);
	if (size > 1 && scan_records({copy.get() + 1, size - 1}).error != errc::misaligned_buffer)
		std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	if (size > 0 && (data[0] & 1)) {
		const auto built = build(data + 1, size - 1);
		check_exact(built.data(), built.size());
	} else {
		check_exact(reinterpret_cast<const std::byte *>(data), size);
	}
	return 0;
}
