// tapfilter: run a tcpdump expression over a capture file with one of the
// classic-BPF engines and print, per packet, the filter's return value.
// See tapfilter.1.
#include <tap/cbpf/libpcap_filter.hpp>

#include <tap/cbpf/disassemble.hpp>
#include <tap/cbpf/filter.hpp>

#include <pcap/pcap.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using tap::cbpf::Engine;
using tap::cbpf::Filter;

enum class Backend { fastest, interp, jit, libpcap };

struct Options {
	Backend backend = Backend::fastest;
	bool bench = false;
	bool dump = false;
	const char *expression = nullptr;
	const char *file = nullptr;
};

struct Packet {
	std::vector<std::uint8_t> bytes;
	std::uint32_t wire_len;
};

[[noreturn]] void usage(int status)
{
	std::fprintf(status ? stderr : stdout,
		     "usage: tapfilter [--engine=interp|jit|libpcap] [--bench] [-d] EXPRESSION FILE.pcap\n");
	std::exit(status);
}

Options parse(int argc, char **argv)
{
	Options o;
	std::vector<const char *> positional;
	for (int i = 1; i < argc; ++i) {
		const std::string_view arg = argv[i];
		if (arg == "--bench")
			o.bench = true;
		else if (arg == "-d")
			o.dump = true;
		else if (arg == "-h" || arg == "--help")
			usage(0);
		else if (arg.starts_with("--engine=")) {
			const auto name = arg.substr(9);
			if (name == "interp")
				o.backend = Backend::interp;
			else if (name == "jit")
				o.backend = Backend::jit;
			else if (name == "libpcap")
				o.backend = Backend::libpcap;
			else {
				std::fprintf(stderr, "tapfilter: unknown engine '%.*s'\n", static_cast<int>(name.size()), name.data());
				usage(2);
			}
		} else if (arg.size() > 1 && arg[0] == '-')
			usage(2);
		else
			positional.push_back(argv[i]);
	}
	if (positional.size() != 2)
		usage(2);
	o.expression = positional[0];
	o.file = positional[1];
	return o;
}

// Runs the chosen engine; a small value type so the loops below are shared.
struct Runner {
	Backend backend;
	const Filter *filter;
	const bpf_program *program;
	std::uint32_t operator()(const Packet &p) const
	{
		if (backend == Backend::libpcap)
			return bpf_filter(program->bf_insns, p.bytes.data(), p.wire_len,
					  static_cast<unsigned>(p.bytes.size()));
		return filter->run(p.bytes, p.wire_len);
	}
};

double bench_ns_per_packet(const Runner &run, const std::vector<Packet> &packets)
{
	if (packets.empty())
		return 0;
	using clock = std::chrono::steady_clock;
	// Passes per repetition: enough for ~50 ms; best of 5 repetitions.
	std::size_t passes = 1;
	volatile std::uint32_t sink = 0;
	for (;;) {
		const auto t0 = clock::now();
		for (std::size_t i = 0; i < passes; ++i)
			for (const Packet &p : packets)
				sink = sink + run(p);
		if (clock::now() - t0 > std::chrono::milliseconds(50) || passes > (1u << 24))
			break;
		passes *= 2;
	}
	double best = 1e300;
	for (int rep = 0; rep < 5; ++rep) {
		const auto t0 = clock::now();
		for (std::size_t i = 0; i < passes; ++i)
			for (const Packet &p : packets)
				sink = sink + run(p);
		const std::chrono::duration<double, std::nano> dt = clock::now() - t0;
		best = std::min(best, dt.count() / static_cast<double>(passes * packets.size()));
	}
	return best;
}

const char *backend_name(Backend b, const Filter *f)
{
	if (b == Backend::libpcap)
		return "libpcap";
	return tap::cbpf::engine_name(f->engine());
}

} // namespace

int main(int argc, char **argv)
{
	const Options opt = parse(argc, argv);

	char err[PCAP_ERRBUF_SIZE] = "";
	pcap_t *pcap = pcap_open_offline(opt.file, err);
	if (pcap == nullptr) {
		std::fprintf(stderr, "tapfilter: %s\n", err);
		return 1;
	}
	bpf_program program{};
	// A file has no netmask: 0, as tcpdump -r ("ip broadcast" works).
	if (pcap_compile(pcap, &program, opt.expression, 1, 0) != 0) {
		std::fprintf(stderr, "tapfilter: %s\n", pcap_geterr(pcap));
		pcap_close(pcap);
		return 1;
	}
	const std::span<const bpf_insn> insns(program.bf_insns, program.bf_len);

	std::optional<Filter> filter;
	// -d counts hits in our interpreter, whatever engine gives the values.
	if (opt.backend != Backend::libpcap || opt.dump) {
		const Engine engine = opt.backend == Backend::interp ? Engine::interpreter
				      : opt.backend == Backend::jit  ? Engine::jit
								     : Engine::fastest;
		auto created = Filter::create(insns, engine);
		if (!created) {
			std::fprintf(stderr, "tapfilter: program rejected by the validator: %s\n",
				     created.error().message().c_str());
			return 1;
		}
		filter.emplace(std::move(*created));
		if (opt.backend == Backend::jit && filter->engine() != Engine::jit)
			std::fprintf(stderr, "tapfilter: JIT unavailable here, using the interpreter\n");
	}

	std::vector<Packet> packets;
	pcap_pkthdr *header;
	const u_char *data;
	int rc;
	while ((rc = pcap_next_ex(pcap, &header, &data)) == 1)
		packets.push_back(Packet{std::vector<std::uint8_t>(data, data + header->caplen), header->len});
	if (rc == PCAP_ERROR)
		std::fprintf(stderr, "tapfilter: %s (after %zu packets)\n", pcap_geterr(pcap), packets.size());

	const Runner run{opt.backend, filter ? &*filter : nullptr, &program};
	int status = rc == PCAP_ERROR ? 1 : 0;
	if (opt.bench) {
		std::printf("%.2f ns/packet (%s, %zu packets, %u instructions)\n",
			    bench_ns_per_packet(run, packets), backend_name(opt.backend, run.filter),
			    packets.size(), program.bf_len);
	} else if (opt.dump) {
		std::vector<std::uint64_t> hits(insns.size(), 0);
		std::size_t accepted = 0;
		for (const Packet &p : packets)
			accepted += filter->interpreter().run_counting(p.bytes, p.wire_len, hits) != 0;
		std::printf("; %zu packets, %zu accepted; hit count, instruction\n", packets.size(), accepted);
		for (std::size_t i = 0; i < insns.size(); ++i)
			std::printf("%10llu  %s\n", static_cast<unsigned long long>(hits[i]),
				    tap::cbpf::disassemble(insns[i], i).c_str());
	} else {
		for (const Packet &p : packets)
			std::printf("%u\n", run(p));
	}
	pcap_freecode(&program);
	pcap_close(pcap);
	return status;
}
