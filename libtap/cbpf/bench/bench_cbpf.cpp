// bench_cbpf: ns per packet of our interpreter, our JIT, libpcap's
// bpf_filter() and DPDK's rte_bpf JIT on the same packets, for the filter
// set of issue 5; prints a Markdown table with ratios at the end.
//
//   bench_cbpf [google benchmark flags]        time everything
//   bench_cbpf --count FILTER ENGINE [PASSES]  one loop for callgrind
//                                               (see callgrind-counts)
#include "dpdk_engine.hpp"
#include "frames.hpp"

#include <tap/cbpf/filter.hpp>
#include <tap/cbpf/libpcap_filter.hpp>

#include <benchmark/benchmark.h>
#include <pcap/pcap.h>
#include <valgrind/callgrind.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace tap::cbpf;
using bench::DpdkJit;

std::string long_filter()
{
	std::string e;
	for (int i = 1; i <= 29; ++i)
		e += "host 10.1.0." + std::to_string(i) + " or ";
	return e + "host 10.0.0.5"; // matches some generated packets
}

struct FilterSpec {
	std::string label, expression;
};

const std::vector<FilterSpec> &filter_specs()
{
	static const std::vector<FilterSpec> specs = {
		{"accept-all", ""},
		{"ip", "ip"},
		{"tcp port 80", "tcp port 80"},
		{"ip and udp and dst port 53", "ip and udp and dst port 53"},
		{"tcp[13] & 2 != 0", "tcp[13] & 2 != 0"},
		{"vlan and tcp", "vlan and tcp"},
		{"host ×30 (long)", long_filter()},
	};
	return specs;
}

enum class Kind { interp, jit, libpcap, dpdk };
constexpr std::array<Kind, 4> kinds = {Kind::interp, Kind::jit, Kind::libpcap, Kind::dpdk};
const char *kind_name(Kind k)
{
	switch (k) {
	case Kind::interp: return "interp";
	case Kind::jit: return "jit";
	case Kind::libpcap: return "libpcap";
	case Kind::dpdk: return "dpdk";
	}
	return "?";
}

struct Packet {
	std::vector<std::uint8_t> bytes;
	std::uint32_t wire_len;
};

// Full (untruncated) generated frames that fit an mbuf: the same bytes for
// every engine.
std::vector<Packet> make_packets()
{
	std::vector<Packet> out;
	for (auto &f : tap::cbpf::testing::generated_frames(7)) {
		if (f.wire_len != f.bytes.size() || f.bytes.size() > 2000)
			continue;
		out.push_back(Packet{std::move(f.bytes), f.wire_len});
		if (out.size() == 4096)
			break;
	}
	return out;
}

struct Prepared {
	const FilterSpec *spec;
	bpf_program program{};
	std::optional<Filter> interp, jit;
	std::unique_ptr<DpdkJit> dpdk;
	std::string dpdk_note; // why DPDK is not timed, if it is not
};

bool dpdk_ready = false;
std::string dpdk_why;

void prepare(Prepared &p, const std::vector<Packet> &packets, bool with_dpdk)
{
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
	if (pcap_compile(dead, &p.program, p.spec->expression.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
		std::fprintf(stderr, "pcap_compile '%s': %s\n", p.spec->expression.c_str(), pcap_geterr(dead));
		std::exit(1);
	}
	pcap_close(dead);
	std::span<const bpf_insn> insns(p.program.bf_insns, p.program.bf_len);
	auto interp = Filter::create(insns, Engine::interpreter);
	auto jit = Filter::create(insns, Engine::jit);
	if (!interp || !jit) {
		std::fprintf(stderr, "rejected: %s\n", interp.error().message().c_str());
		std::exit(1);
	}
	p.interp.emplace(std::move(*interp));
	p.jit.emplace(std::move(*jit));
	// Verdicts first: ours must agree with libpcap on every packet.
	for (const Packet &pk : packets) {
		const auto ref = bpf_filter(p.program.bf_insns, pk.bytes.data(), pk.wire_len,
					    static_cast<unsigned>(pk.bytes.size()));
		if (p.interp->run(pk.bytes, pk.wire_len) != ref || p.jit->run(pk.bytes, pk.wire_len) != ref) {
			std::fprintf(stderr, "BUG: our engines disagree with libpcap on '%s'\n", p.spec->label.c_str());
			std::exit(1);
		}
	}
	if (!with_dpdk)
		return;
	if (!dpdk_ready) {
		p.dpdk_note = "DPDK unavailable: " + dpdk_why;
		return;
	}
	p.dpdk = DpdkJit::create(p.program, p.dpdk_note);
	if (!p.dpdk)
		return;
	// The interpreter first (it cannot crash), then the JIT unless it is
	// known to crash on this program.
	std::size_t wrong_interp = 0, wrong_jit = 0;
	for (std::size_t i = 0; i < packets.size(); ++i) {
		const auto ref = bpf_filter(p.program.bf_insns, packets[i].bytes.data(), packets[i].wire_len,
					    static_cast<unsigned>(packets[i].bytes.size()));
		wrong_interp += p.dpdk->run_interpreter(i) != ref;
		if (!p.dpdk->jit_crashes())
			wrong_jit += p.dpdk->run(i) != ref;
	}
	char buf[160] = "";
	if (wrong_interp || wrong_jit)
		std::snprintf(buf, sizeof buf, "wrong on %zu of %zu packets (%s)",
			      std::max(wrong_interp, wrong_jit), packets.size(),
			      wrong_interp ? "rte_bpf_exec" : "JIT");
	if (p.dpdk->jit_crashes())
		std::snprintf(buf + std::strlen(buf), sizeof buf - std::strlen(buf), "%sJIT crashes (jset imm8)",
			      buf[0] ? "; " : "");
	if (buf[0] != 0) {
		p.dpdk_note = buf;
		p.dpdk.reset();
	}
}

// One pass over all packets with one engine; returns a checksum.
std::uint64_t pass(const Prepared &p, Kind kind, const std::vector<Packet> &packets)
{
	std::uint64_t sum = 0;
	switch (kind) {
	case Kind::interp:
		for (const Packet &pk : packets)
			sum += p.interp->run(pk.bytes, pk.wire_len);
		break;
	case Kind::jit:
		for (const Packet &pk : packets)
			sum += p.jit->run(pk.bytes, pk.wire_len);
		break;
	case Kind::libpcap:
		for (const Packet &pk : packets)
			sum += bpf_filter(p.program.bf_insns, pk.bytes.data(), pk.wire_len,
					  static_cast<unsigned>(pk.bytes.size()));
		break;
	case Kind::dpdk:
		for (std::size_t i = 0; i < packets.size(); ++i)
			sum += p.dpdk->run(i);
		break;
	}
	return sum;
}

// Collects the per-benchmark minimum over repetitions for the table.
class TableReporter : public benchmark::ConsoleReporter {
public:
	void ReportRuns(const std::vector<Run> &runs) override
	{
		for (const Run &r : runs)
			if (r.run_type == Run::RT_Aggregate && r.aggregate_name == "min")
				min_ns[r.run_name.function_name] = r.GetAdjustedCPUTime();
			else if (r.run_type == Run::RT_Iteration && !min_ns.count(r.run_name.function_name + "#it"))
				min_ns[r.run_name.function_name + "#it"] = r.GetAdjustedCPUTime();
		ConsoleReporter::ReportRuns(runs);
	}
	std::map<std::string, double> min_ns;
};

std::string bench_name(const Prepared &p, Kind k) { return p.spec->label + "/" + kind_name(k); }

int count_mode(int argc, char **argv, const std::vector<Packet> &packets)
{
	// --count FILTER_INDEX ENGINE [PASSES]: callgrind collects only the loop.
	const std::size_t index = std::strtoul(argv[2], nullptr, 10);
	const std::string engine = argv[3];
	const int passes = argc > 4 ? std::atoi(argv[4]) : 20;
	auto kind = std::find_if(kinds.begin(), kinds.end(), [&](Kind k) { return engine == kind_name(k); });
	if (index >= filter_specs().size() || kind == kinds.end())
		return 2;
	Prepared p;
	p.spec = &filter_specs()[index];
	prepare(p, packets, *kind == Kind::dpdk);
	if (*kind == Kind::dpdk && !p.dpdk) {
		std::printf("skipped: %s\n", p.dpdk_note.c_str());
		return 0;
	}
	std::uint64_t sum = pass(p, *kind, packets); // warm-up, not collected
	CALLGRIND_TOGGLE_COLLECT;
	for (int i = 0; i < passes; ++i)
		sum += pass(p, *kind, packets);
	CALLGRIND_TOGGLE_COLLECT;
	std::printf("packets-evaluated %zu checksum %llu\n", packets.size() * passes,
		    static_cast<unsigned long long>(sum));
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	const std::vector<Packet> packets = make_packets();
	const bool counting = argc >= 4 && std::strcmp(argv[1], "--count") == 0;
	const bool need_dpdk = !counting || std::strcmp(argv[3], "dpdk") == 0;
	if (need_dpdk) {
		std::vector<std::vector<std::uint8_t>> raw;
		for (const Packet &p : packets)
			raw.push_back(p.bytes);
		dpdk_ready = DpdkJit::setup(raw, dpdk_why);
	}
	if (counting)
		return count_mode(argc, argv, packets);

	std::vector<std::unique_ptr<Prepared>> prepared;
	for (const FilterSpec &spec : filter_specs()) {
		auto p = std::make_unique<Prepared>();
		p->spec = &spec;
		prepare(*p, packets, true);
		prepared.push_back(std::move(p));
	}
	for (const auto &p : prepared)
		for (Kind k : kinds) {
			if (k == Kind::dpdk && !p->dpdk)
				continue;
			const Prepared *pp = p.get();
			benchmark::RegisterBenchmark(bench_name(*p, k).c_str(), [pp, k, &packets](benchmark::State &state) {
				for (auto _ : state)
					benchmark::DoNotOptimize(pass(*pp, k, packets));
				state.counters["ns/pkt"] = benchmark::Counter(
					static_cast<double>(packets.size()),
					benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
			})
				->Unit(benchmark::kMicrosecond)
				->Repetitions(5)
				->ComputeStatistics("min", [](const std::vector<double> &v) {
					return *std::min_element(v.begin(), v.end());
				})
				->DisplayAggregatesOnly(true);
		}
	benchmark::Initialize(&argc, argv);
	TableReporter reporter;
	benchmark::RunSpecifiedBenchmarks(&reporter);
	benchmark::Shutdown();

	// The table: min over repetitions, ns per packet (CPU time).
	auto ns = [&](const Prepared &p, Kind k) -> double {
		const std::string n = bench_name(p, k);
		auto it = reporter.min_ns.find(n);
		if (it == reporter.min_ns.end())
			it = reporter.min_ns.find(n + "#it");
		return it == reporter.min_ns.end() ? -1 : it->second * 1000.0 / packets.size(); // us -> ns
	};
	std::printf("\n%zu packets; ns/packet, min of repetitions (CPU time)\n\n", packets.size());
	std::printf("| filter | insns | interp | JIT | libpcap | DPDK JIT | libpcap/JIT | DPDK/JIT | interp/libpcap |\n");
	std::printf("|---|---|---|---|---|---|---|---|---|\n");
	for (const auto &p : prepared) {
		const double i = ns(*p, Kind::interp), j = ns(*p, Kind::jit), l = ns(*p, Kind::libpcap);
		const double d = p->dpdk ? ns(*p, Kind::dpdk) : -1;
		char dcell[96], dratio[32];
		if (d > 0) {
			std::snprintf(dcell, sizeof dcell, "%.2f", d);
			std::snprintf(dratio, sizeof dratio, "%.2f×", d / j);
		} else {
			std::snprintf(dcell, sizeof dcell, "— %s", p->dpdk_note.c_str());
			std::snprintf(dratio, sizeof dratio, "—");
		}
		std::printf("| `%s` | %u | %.2f | %.2f | %.2f | %s | %.2f× | %s | %.2f |\n", p->spec->label.c_str(),
			    p->program.bf_len, i, j, l, dcell, l / j, dratio, i / l);
	}
	return 0;
}
