// The interface every Device backend implements (kernel /dev/bpf today,
// DPDK next). Device forwards to it; nothing here assumes a descriptor.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <tap/device.hpp>

namespace tap::detail {

// What a backend learned while opening, for Device's plain accessors.
struct DeviceInfo {
	std::string name;
	int datalink = 0;
	std::uint32_t snap_length = 0;
	std::size_t buffer_size = 0;
	TimestampUnit timestamp_unit = TimestampUnit::nanoseconds;
	// IPv4 netmask for compiling expressions ("ip broadcast").
	std::uint32_t netmask = Filter::netmask_unknown;
};

class Backend {
public:
	explicit Backend(DeviceInfo info) : info_(std::move(info)) {}
	virtual ~Backend() = default;
	Backend(const Backend &) = delete;
	Backend &operator=(const Backend &) = delete;

	virtual Result<Batch> read(std::optional<std::chrono::nanoseconds> timeout) = 0;
	virtual Result<Batch> try_read() = 0;
	virtual void interrupt() noexcept = 0;
	virtual Result<void> write(std::span<const std::byte> frame) = 0;
	virtual Result<std::size_t> write(std::span<const std::span<const std::byte>> frames);
	virtual Result<Stats> stats() const = 0;
	virtual Result<void> set_filter(const Filter &filter) = 0;
	virtual std::optional<int> pollable_handle() const noexcept = 0;

	const DeviceInfo &info() const noexcept { return info_; }

protected:
	DeviceInfo info_;
};

// A device string split into its backend and the rest ("bpf:eth0" ->
// bpf, "eth0"; a plain interface name is bpf).
enum class Scheme : std::uint8_t { bpf, dpdk };
struct Target {
	Scheme scheme;
	std::string_view rest;
};
Result<Target> parse_spec(std::string_view spec, const std::string &name);

} // namespace tap::detail
