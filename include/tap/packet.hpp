// A captured packet: PacketView points into a capture buffer and is valid
// until the next read on its device; Packet owns a copy (PacketView::copy).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tap {

// Nanoseconds since the Unix epoch, UTC.
using Timestamp = std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;

class Packet;

class PacketView {
public:
	constexpr PacketView() = default;
	constexpr PacketView(std::span<const std::byte> bytes, std::uint32_t wire_length,
			     Timestamp timestamp) noexcept
		: bytes_(bytes), wire_length_(wire_length), timestamp_(timestamp)
	{
	}

	// The captured bytes, from the link-layer header on.
	constexpr std::span<const std::byte> bytes() const noexcept { return bytes_; }
	constexpr std::uint32_t captured_length() const noexcept
	{
		return static_cast<std::uint32_t>(bytes_.size());
	}
	// Length of the frame on the wire; larger than captured_length() when
	// the snap length or the filter cut it.
	constexpr std::uint32_t wire_length() const noexcept { return wire_length_; }
	constexpr bool truncated() const noexcept { return bytes_.size() < wire_length_; }
	constexpr Timestamp timestamp() const noexcept { return timestamp_; }

	Packet copy() const;

private:
	std::span<const std::byte> bytes_;
	std::uint32_t wire_length_ = 0;
	Timestamp timestamp_{};
};

class Packet {
public:
	Packet() = default;
	Packet(std::vector<std::byte> bytes, std::uint32_t wire_length, Timestamp timestamp)
		: bytes_(std::move(bytes)), wire_length_(wire_length), timestamp_(timestamp)
	{
	}

	std::span<const std::byte> bytes() const noexcept { return bytes_; }
	std::uint32_t captured_length() const noexcept
	{
		return static_cast<std::uint32_t>(bytes_.size());
	}
	std::uint32_t wire_length() const noexcept { return wire_length_; }
	Timestamp timestamp() const noexcept { return timestamp_; }
	PacketView view() const noexcept { return {bytes_, wire_length_, timestamp_}; }

private:
	std::vector<std::byte> bytes_;
	std::uint32_t wire_length_ = 0;
	Timestamp timestamp_{};
};

inline Packet PacketView::copy() const
{
	return Packet(std::vector<std::byte>(bytes_.begin(), bytes_.end()), wire_length_, timestamp_);
}

} // namespace tap
