// Builds capture buffers in the /dev/bpf record format, for tests, the
// benchmark and fuzz seeds. Also lets a test corrupt individual fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include <tap/records.hpp>

namespace tap::test {

struct RecordSpec {
	std::int64_t sec = 0;
	std::uint64_t frac = 0;
	std::uint32_t caplen = 0;
	std::uint32_t datalen = 0;
	std::uint16_t hdrlen = record_header_size;
	std::byte fill{0xab};
};

// Storage aligned to BPF_ALIGNMENT (vector<uint64_t> underneath).
class BufferBuilder {
public:
	// Append a record; frame bytes are fill, fill+1, ... ; returns its offset.
	std::size_t add(const RecordSpec &r, bool pad = true)
	{
		const std::size_t off = size_;
		const std::size_t len = std::size_t{r.hdrlen} + r.caplen;
		resize(off + len);
		std::byte *rec = data() + off;
		std::memset(rec, 0, r.hdrlen);
		put(rec + offsetof(struct bpf_xhdr, bh_tstamp.bt_sec), r.sec);
		put(rec + offsetof(struct bpf_xhdr, bh_tstamp.bt_frac), r.frac);
		put(rec + offsetof(struct bpf_xhdr, bh_caplen), r.caplen);
		put(rec + offsetof(struct bpf_xhdr, bh_datalen), r.datalen);
		put(rec + offsetof(struct bpf_xhdr, bh_hdrlen), r.hdrlen);
		for (std::uint32_t i = 0; i < r.caplen; ++i)
			rec[r.hdrlen + i] = static_cast<std::byte>(static_cast<unsigned>(r.fill) + i);
		if (pad)
			resize(align_record(size_));
		return off;
	}

	// A frame of n bytes captured whole.
	std::size_t add_frame(std::uint32_t n, std::int64_t sec = 1, std::uint64_t frac = 0)
	{
		return add({sec, frac, n, n, static_cast<std::uint16_t>(record_header_size), std::byte{0}});
	}

	template <class T> void poke(std::size_t offset, T value) { put(data() + offset, value); }
	void resize(std::size_t n)
	{
		storage_.resize((n + 7) / 8);
		size_ = n;
	}

	std::byte *data() { return reinterpret_cast<std::byte *>(storage_.data()); }
	std::span<const std::byte> bytes() const
	{
		return {reinterpret_cast<const std::byte *>(storage_.data()), size_};
	}
	std::size_t size() const { return size_; }

private:
	template <class T> static void put(std::byte *p, T v) { std::memcpy(p, &v, sizeof v); }

	std::vector<std::uint64_t> storage_;
	std::size_t size_ = 0;
};

} // namespace tap::test
