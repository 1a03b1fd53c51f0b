// bench_parse: parse one full 16 MiB capture buffer of 64-byte frames, as
// one read() of the largest buffer returns it, and touch every field of
// every packet. BM_ParseBatch is what a Device read costs (Batch::walk: each
// record checked as it is reached); the goal is below 2 ns_per_packet.
#include <benchmark/benchmark.h>

#include <tap/batch.hpp>

#include "buffer_builder.hpp"

namespace {

constexpr std::size_t buffer_bytes = 16 << 20;
constexpr std::uint32_t frame_bytes = 64;

tap::test::BufferBuilder make_buffer(std::size_t bytes)
{
	tap::test::BufferBuilder b;
	const std::size_t record = tap::align_record(tap::record_header_size + frame_bytes);
	for (std::int64_t i = 0; b.size() + record <= bytes; ++i)
		b.add_frame(frame_bytes, 1700000000 + i / 1000000, static_cast<std::uint64_t>(i % 1000000) * 1000);
	return b;
}

const tap::test::BufferBuilder &full_buffer()
{
	static const tap::test::BufferBuilder buf = make_buffer(buffer_bytes);
	return buf;
}

// Every field of every view, so none of the parsing can be optimised away.
void consume(const tap::Batch &batch)
{
	std::uint64_t sum = 0;
	for (const tap::PacketView p : batch)
		sum += p.captured_length() + p.wire_length() +
		       static_cast<std::uint64_t>(p.timestamp().time_since_epoch().count()) +
		       reinterpret_cast<std::uintptr_t>(p.bytes().data());
	benchmark::DoNotOptimize(sum);
}

const tap::test::BufferBuilder &l2_buffer()
{
	static const tap::test::BufferBuilder buf = make_buffer(256 << 10);
	return buf;
}

// Arg 0: the full 16 MiB buffer; arg 1: 256 KiB, which stays in L2 -- the
// parser's own cost without the memory traffic.
std::span<const std::byte> buffer_for(const benchmark::State &state)
{
	return state.range(0) ? l2_buffer().bytes() : full_buffer().bytes();
}

void report(benchmark::State &state, std::size_t packets)
{
	state.SetItemsProcessed(static_cast<std::int64_t>(packets));
	state.counters["packets_per_buffer"] = static_cast<double>(packets) / static_cast<double>(state.iterations());
	state.counters["ns_per_packet"] = benchmark::Counter(
		static_cast<double>(packets), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_ParseBatch(benchmark::State &state)
{
	const auto bytes = buffer_for(state);
	std::size_t packets = 0;
	tap::ParseStatus status;
	const std::size_t per_buffer = tap::Batch::walk(bytes, tap::TimestampUnit::nanoseconds, status).count();
	for (auto _ : state) {
		const tap::Batch batch = tap::Batch::walk(bytes, tap::TimestampUnit::nanoseconds, status);
		consume(batch);
		packets += per_buffer;
		if (batch.error()) {
			state.SkipWithError(batch.error().message().c_str());
			return;
		}
	}
	report(state, packets);
}
BENCHMARK(BM_ParseBatch)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// For comparison: Batch::parse checks the whole buffer first, then the loop
// walks it again -- two passes over the memory.
void BM_ParseCheckedUpFront(benchmark::State &state)
{
	const auto bytes = buffer_for(state);
	std::size_t packets = 0;
	const std::size_t per_buffer = tap::scan_records(bytes).packets;
	for (auto _ : state) {
		auto batch = tap::Batch::parse(bytes, tap::TimestampUnit::nanoseconds);
		if (!batch) {
			state.SkipWithError(batch.error().message().c_str());
			return;
		}
		consume(*batch);
		packets += per_buffer;
	}
	report(state, packets);
}
BENCHMARK(BM_ParseCheckedUpFront)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// Mixed sizes (simple IMIX: 64, 576 and 1500-byte frames, 7:4:1, in a
// fixed shuffled order) in 16 MiB: every change of length leaves the fast
// path, so this is the walk's worst common case.
const tap::test::BufferBuilder &imix_buffer()
{
	static const tap::test::BufferBuilder buf = [] {
		constexpr std::uint32_t pattern[] = {64, 576, 64, 64, 1500, 64, 576, 64, 576, 64, 64, 576};
		tap::test::BufferBuilder b;
		for (std::size_t i = 0;; ++i) {
			const std::uint32_t n = pattern[(i * 5) % std::size(pattern)];
			if (b.size() + tap::align_record(tap::record_header_size + n) > buffer_bytes)
				break;
			b.add_frame(n, 1700000000, i);
		}
		return b;
	}();
	return buf;
}

void BM_ParseBatchImix(benchmark::State &state)
{
	const auto bytes = imix_buffer().bytes();
	tap::ParseStatus status;
	const std::size_t per_buffer = tap::Batch::walk(bytes, tap::TimestampUnit::nanoseconds, status).count();
	std::size_t packets = 0;
	for (auto _ : state) {
		if (state.range(0)) {
			auto batch = tap::Batch::parse(bytes, tap::TimestampUnit::nanoseconds);
			consume(*batch);
		} else {
			consume(tap::Batch::walk(bytes, tap::TimestampUnit::nanoseconds, status));
		}
		packets += per_buffer;
	}
	report(state, packets);
}
// Arg 0: walked (Device reads); arg 1: checked up front (Batch::parse).
BENCHMARK(BM_ParseBatchImix)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// The up-front check alone.
void BM_ScanOnly(benchmark::State &state)
{
	const auto bytes = buffer_for(state);
	std::size_t packets = 0;
	for (auto _ : state) {
		auto scan = tap::scan_records(bytes);
		benchmark::DoNotOptimize(scan);
		packets += scan.packets;
	}
	report(state, packets);
}
BENCHMARK(BM_ScanOnly)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// The floor: streaming reads of the same 16 MiB, one load per 64-byte line.
void BM_TouchEveryLine(benchmark::State &state)
{
	const auto bytes = full_buffer().bytes();
	for (auto _ : state) {
		std::uint64_t sum = 0;
		for (std::size_t i = 0; i < bytes.size(); i += 64)
			sum += static_cast<std::uint64_t>(bytes[i]);
		benchmark::DoNotOptimize(sum);
	}
	state.counters["ns_per_packet"] = benchmark::Counter(
		static_cast<double>(state.iterations()) * static_cast<double>(full_buffer().size()) / 96.0,
		benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_TouchEveryLine)->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
