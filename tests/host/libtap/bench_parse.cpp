// bench_parse: parse (scan + iterate) one full 16 MiB capture buffer of
// 64-byte frames, as one read() of the largest default buffer returns it.
// Reports ns_per_packet; the goal is below 2.
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

void BM_ParseBatch(benchmark::State &state)
{
	const auto bytes = full_buffer().bytes();
	std::size_t packets = 0;
	for (auto _ : state) {
		auto batch = tap::Batch::parse(bytes, tap::TimestampUnit::nanoseconds);
		if (!batch) {
			state.SkipWithError(batch.error().message().c_str());
			return;
		}
		std::uint64_t sum = 0;
		for (const tap::PacketView p : *batch)
			sum += p.captured_length() + p.wire_length() +
			       static_cast<std::uint64_t>(p.timestamp().time_since_epoch().count()) +
			       reinterpret_cast<std::uintptr_t>(p.bytes().data());
		benchmark::DoNotOptimize(sum);
		packets += batch->size();
	}
	state.SetItemsProcessed(static_cast<std::int64_t>(packets));
	state.counters["packets_per_buffer"] = static_cast<double>(packets) / static_cast<double>(state.iterations());
	state.counters["ns_per_packet"] = benchmark::Counter(
		static_cast<double>(packets), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ParseBatch)->Unit(benchmark::kMillisecond);

// The two halves alone, to see where the time goes.
void BM_ScanOnly(benchmark::State &state)
{
	static const auto small = make_buffer(256 << 10);
	const auto bytes = state.range(0) ? small.bytes() : full_buffer().bytes();
	std::size_t packets = 0;
	for (auto _ : state) {
		auto scan = tap::scan_records(bytes);
		benchmark::DoNotOptimize(scan);
		packets += scan.packets;
	}
	state.counters["ns_per_packet"] = benchmark::Counter(
		static_cast<double>(packets), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
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
BENCHMARK(BM_TouchEveryLine)->Unit(benchmark::kMillisecond);

// A 256 KiB buffer stays in L2: the parser's own cost without the memory
// bandwidth a 16 MiB buffer needs.
void BM_ParseBatchInCache(benchmark::State &state)
{
	static const auto small = make_buffer(256 << 10);
	const auto bytes = small.bytes();
	std::size_t packets = 0;
	for (auto _ : state) {
		auto batch = tap::Batch::parse(bytes, tap::TimestampUnit::nanoseconds);
		std::uint64_t sum = 0;
		for (const tap::PacketView p : *batch)
			sum += p.captured_length() + p.wire_length() +
			       static_cast<std::uint64_t>(p.timestamp().time_since_epoch().count()) +
			       reinterpret_cast<std::uintptr_t>(p.bytes().data());
		benchmark::DoNotOptimize(sum);
		packets += batch->size();
	}
	state.counters["ns_per_packet"] = benchmark::Counter(
		static_cast<double>(packets), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ParseBatchInCache)->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
