// tapdump: tcpdump's everyday options over libtap (/dev/bpf).
#include <getopt.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <tap/tap.hpp>

#include "cli.hpp"

#include "print.hpp"

namespace {

using tools::die;
using tools::number;

constexpr const char *usage_text =
	"Usage: tapdump [-Denpx] [-i IFACE] [-c COUNT] [-s SNAPLEN] [-B BUFSIZE_KIB]\n"
	"               [-Q in|out|inout] [--immediate] [-w FILE] [-r FILE] [EXPRESSION]\n"
	"\n"
	"Capture packets on IFACE through /dev/bpf (bpfdev), or DPDK for dpdk: device\n"
	"strings, and print one line each, or write them to a pcap file with\n"
	"nanosecond timestamps.\n"
	"\n"
	"  -i IFACE        interface to capture on, or a libtap device string:\n"
	"                  bpf:eth0, dpdk:0000:03:00.0, dpdk:net_pcap0,rx_pcap=F.pcap\n"
	"  -D              list what can be captured on (both backends) and exit\n"
	"  -c COUNT        exit after COUNT packets\n"
	"  -s SNAPLEN      bytes to keep of each packet (0 = 262144, the default)\n"
	"  -B BUFSIZE      capture buffer size in KiB (default 2048)\n"
	"  -Q DIRECTION    in, out or inout (default inout)\n"
	"  -p              do not put the interface into promiscuous mode\n"
	"  --immediate     deliver packets as they arrive instead of in full buffers\n"
	"  -w FILE         write packets to a pcap file (nanosecond), '-' for stdout\n"
	"  -r FILE         read packets from a pcap file instead of an interface\n"
	"  -n              do not resolve names (tapdump never does; accepted for habit)\n"
	"  -e              print the link-level header\n"
	"  -x              print each packet's bytes in hex\n"
	"  -h, --help      this text\n"
	"\n"
	"EXPRESSION is a tcpdump (pcap-filter) expression; it may span several arguments.\n";

struct Args {
	std::string interface;
	std::string write_file, read_file;
	std::string expression;
	std::uint64_t count = 0;
	std::uint32_t snap_length = tap::Options::max_snap_length;
	std::size_t buffer_kib = 2048;
	tap::Direction direction = tap::Direction::inout;
	bool promiscuous = true;
	bool immediate = false;
	tapdump::PrintOptions print;
};

Args parse_args(int argc, char **argv)
{
	enum { opt_immediate = 1000 };
	static const option long_options[] = {
		{"help", no_argument, nullptr, 'h'},
		{"immediate", no_argument, nullptr, opt_immediate},
		{"immediate-mode", no_argument, nullptr, opt_immediate},
		{nullptr, 0, nullptr, 0},
	};
	Args a;
	int c;
	while ((c = getopt_long(argc, argv, "+i:c:s:B:Q:w:r:pnexhD", long_options, nullptr)) != -1) {
		switch (c) {
		case 'D': {
			int n = 0;
			for (const auto &e : tap::Device::list())
				std::printf("%d.%s (%s)\n", ++n, e.spec.c_str(), e.description.c_str());
			std::exit(0);
		}
		case 'i': a.interface = optarg; break;
		case 'c': a.count = number<std::uint64_t>(optarg, "count"); break;
		case 's':
			a.snap_length = number<std::uint32_t>(optarg, "snap length");
			if (a.snap_length == 0 || a.snap_length > tap::Options::max_snap_length)
				a.snap_length = tap::Options::max_snap_length; // as tcpdump
			break;
		case 'B': a.buffer_kib = number<std::size_t>(optarg, "buffer size"); break;
		case 'Q':
			if (!std::strcmp(optarg, "in")) a.direction = tap::Direction::in;
			else if (!std::strcmp(optarg, "out")) a.direction = tap::Direction::out;
			else if (!std::strcmp(optarg, "inout")) a.direction = tap::Direction::inout;
			else die(std::string("invalid direction '") + optarg + "' (in, out or inout)");
			break;
		case 'w': a.write_file = optarg; break;
		case 'r': a.read_file = optarg; break;
		case 'p': a.promiscuous = false; break;
		case 'n': break;
		case 'e': a.print.link_header = true; break;
		case 'x': a.print.hex = true; break;
		case opt_immediate: a.immediate = true; break;
		case 'h': std::fputs(usage_text, stdout); std::exit(0);
		default: std::fputs(usage_text, stderr); std::exit(1);
		}
	}
	for (int i = optind; i < argc; ++i) {
		if (!a.expression.empty())
			a.expression += ' ';
		a.expression += argv[i];
	}
	if (a.interface.empty() && a.read_file.empty())
		die("no interface: give -i IFACE (or -r FILE)");
	return a;
}

// Ctrl-C and friends end the capture through Device::interrupt(), which is
// async-signal-safe; the main loop then prints the summary.
std::atomic<tap::Device *> capture_device{nullptr};
volatile sig_atomic_t stop_requested = 0;

extern "C" void on_signal(int)
{
	stop_requested = 1;
	if (tap::Device *d = capture_device.load())
		d->interrupt();
}

void install_signals()
{
	struct sigaction sa {};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (int s : {SIGINT, SIGTERM, SIGHUP})
		sigaction(s, &sa, nullptr);
}

struct PcapCloser {
	void operator()(pcap_t *p) const { pcap_close(p); }
};
struct DumperCloser {
	void operator()(pcap_dumper_t *d) const { pcap_dump_close(d); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;
using Dumper = std::unique_ptr<pcap_dumper_t, DumperCloser>;

// A nanosecond pcap writer (libpcap writes the file).
struct Writer {
	PcapHandle dead;
	Dumper dumper;

	Writer(const std::string &path, int datalink, std::uint32_t snap)
		: dead(pcap_open_dead_with_tstamp_precision(datalink, static_cast<int>(snap),
							     PCAP_TSTAMP_PRECISION_NANO))
	{
		if (!dead)
			die("cannot create a pcap writer for link type " + std::to_string(datalink));
		dumper.reset(pcap_dump_open(dead.get(), path.c_str()));
		if (!dumper)
			die(path + ": " + pcap_geterr(dead.get()));
	}

	void write(tap::Timestamp when, std::span<const std::byte> bytes, std::uint32_t wire)
	{
		const auto ns = when.time_since_epoch().count();
		pcap_pkthdr h{};
		h.ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
		h.ts.tv_usec = static_cast<suseconds_t>(ns % 1'000'000'000); // ns in a nano file
		h.caplen = static_cast<bpf_u_int32>(bytes.size());
		h.len = wire;
		pcap_dump(reinterpret_cast<u_char *>(dumper.get()), &h,
			  reinterpret_cast<const u_char *>(bytes.data()));
	}
	void flush() { pcap_dump_flush(dumper.get()); }
};

const char *link_name(int dlt)
{
	const char *name = pcap_datalink_val_to_name(dlt);
	return name ? name : "unknown";
}

const char *link_description(int dlt)
{
	const char *d = pcap_datalink_val_to_description(dlt);
	return d ? d : "unknown";
}

int read_file(const Args &a)
{
	char err[PCAP_ERRBUF_SIZE] = "";
	PcapHandle in(pcap_open_offline_with_tstamp_precision(a.read_file.c_str(),
							       PCAP_TSTAMP_PRECISION_NANO, err));
	if (!in)
		die(err);
	const int dlt = pcap_datalink(in.get());
	if (!a.expression.empty()) {
		bpf_program prog{};
		// A file has no netmask: 0, as tcpdump -r ("ip broadcast" works).
		if (pcap_compile(in.get(), &prog, a.expression.c_str(), 1, 0) != 0)
			die(std::string("filter \"") + a.expression + "\": " + pcap_geterr(in.get()));
		const int rc = pcap_setfilter(in.get(), &prog);
		pcap_freecode(&prog);
		if (rc != 0)
			die(pcap_geterr(in.get()));
	}
	std::fprintf(stderr, "reading from file %s, link-type %s (%s), snapshot length %d\n",
		     a.read_file.c_str(), link_name(dlt), link_description(dlt), pcap_snapshot(in.get()));
	std::optional<Writer> writer;
	if (!a.write_file.empty())
		writer.emplace(a.write_file, dlt, static_cast<std::uint32_t>(pcap_snapshot(in.get())));
	install_signals();
	std::uint64_t n = 0;
	pcap_pkthdr *h;
	const u_char *data;
	int rc;
	while (!stop_requested && (a.count == 0 || n < a.count) &&
	       (rc = pcap_next_ex(in.get(), &h, &data)) == 1) {
		const tap::Timestamp when{std::chrono::seconds(h->ts.tv_sec) +
					  std::chrono::nanoseconds(h->ts.tv_usec)};
		const std::span bytes(reinterpret_cast<const std::byte *>(data), h->caplen);
		if (writer)
			writer->write(when, bytes, h->len);
		else
			tapdump::print_packet(stdout, a.print, dlt, when, bytes, h->len);
		++n;
	}
	if (rc == PCAP_ERROR)
		die(a.read_file + ": " + pcap_geterr(in.get()));
	return 0;
}

int capture(const Args &a)
{
	tap::Options o;
	o.snap_length = a.snap_length;
	o.buffer_size = a.buffer_kib * 1024;
	o.promiscuous = a.promiscuous;
	o.immediate = a.immediate;
	o.direction = a.direction;
	o.filter = a.expression;
	auto opened = tap::Device::open(a.interface, o);
	if (!opened)
		die(opened.error().message());
	tap::Device device = std::move(*opened);
	capture_device = &device;
	install_signals();

	std::fprintf(stderr, "tapdump: listening on %s, link-type %s (%s), snapshot length %u bytes\n",
		     a.interface.c_str(), link_name(device.datalink()),
		     link_description(device.datalink()), a.snap_length);
	std::optional<Writer> writer;
	if (!a.write_file.empty())
		writer.emplace(a.write_file, device.datalink(), a.snap_length);
	const bool live_count = writer && a.write_file != "-" && isatty(STDERR_FILENO);
	if (!writer && isatty(STDOUT_FILENO))
		setvbuf(stdout, nullptr, _IOLBF, 0);

	std::uint64_t captured = 0;
	int status = 0;
	while (!stop_requested && (a.count == 0 || captured < a.count)) {
		auto batch = device.read();
		if (!batch) {
			if (batch.error().code == std::errc::interrupted)
				break;
			std::fprintf(stderr, "tapdump: %s\n", batch.error().message().c_str());
			status = 1;
			break;
		}
		for (const tap::PacketView p : *batch) {
			if (writer)
				writer->write(p.timestamp(), p.bytes(), p.wire_length());
			else
				tapdump::print_packet(stdout, a.print, device.datalink(), p.timestamp(),
						      p.bytes(), p.wire_length());
			if (++captured == a.count)
				break;
		}
		if (batch->error()) {
			// A corrupt record ends the batch; the records before it are out.
			std::fprintf(stderr, "tapdump: %s: %s\n", device.name().c_str(),
				     batch->error().message().c_str());
			status = 1;
			break;
		}
		if (writer)
			writer->flush();
		else
			std::fflush(stdout);
		if (live_count)
			std::fprintf(stderr, "\rGot %llu", static_cast<unsigned long long>(captured));
	}
	capture_device = nullptr;
	writer.reset();
	if (live_count)
		std::fputc('\n', stderr);

	const auto stats = device.stats();
	std::fprintf(stderr, "%llu packet%s captured\n", static_cast<unsigned long long>(captured),
		     captured == 1 ? "" : "s");
	if (stats) {
		std::fprintf(stderr, "%llu packet%s received by filter\n",
			     static_cast<unsigned long long>(stats->received), stats->received == 1 ? "" : "s");
		std::fprintf(stderr, "%llu packet%s dropped by kernel\n",
			     static_cast<unsigned long long>(stats->dropped), stats->dropped == 1 ? "" : "s");
	} else {
		std::fprintf(stderr, "tapdump: %s\n", stats.error().message().c_str());
	}
	return status;
}

} // namespace

int main(int argc, char **argv)
{
	tools::program = "tapdump";
	const Args args = parse_args(argc, argv);
	return args.read_file.empty() ? capture(args) : read_file(args);
}
