// tapdump: tcpdump's everyday options over libtap (/dev/bpf).
#include <getopt.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <tap/tap.hpp>

#include "cli.hpp"

#include "print.hpp"
#include "rotate.hpp"

namespace {

using tools::die;
using tools::number;

constexpr const char *usage_text =
	"Usage: tapdump [-Denpx] [-i IFACE] [-c COUNT] [-s SNAPLEN] [-B BUFSIZE_KIB]\n"
	"               [-Q in|out|inout] [--immediate] [-w FILE] [-r FILE]\n"
	"               [-C SIZE] [-G SECONDS] [-W FILES] [-z COMMAND]\n"
	"               [--workers N [--spread hash|cpu|rr] [--rollover]] [EXPRESSION]\n"
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
	"  -C SIZE         with -w: a new file once one is larger than SIZE million bytes\n"
	"                  (or SIZEk, SIZEm, SIZEg: KiB, MiB, GiB); FILE1, FILE2, ...\n"
	"  -G SECONDS      with -w: a new file every SECONDS; FILE is a strftime(3) pattern\n"
	"  -W FILES        with -C: a ring of FILES files; with -G alone: stop after FILES\n"
	"  -z COMMAND      run COMMAND FILE on each finished file\n"
	"  --workers N     capture with N threads, each a member of a kernel fan-out group\n"
	"                  (on dpdk: one of N receive queues) writing its own file:\n"
	"                  -w a.pcap gives a-0.pcap, a-1.pcap, ...\n"
	"  --spread MODE   how packets are shared: hash (a flow to one worker, default),\n"
	"                  cpu, or rr (round robin)\n"
	"  --rollover      a worker with a full buffer passes packets to the next\n"
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
	tapdump::RotateOptions rotate;
	std::size_t workers = 1;
	tap::Spread spread = tap::Spread::flow_hash;
	bool rollover = false;
};

Args parse_args(int argc, char **argv)
{
	enum { opt_immediate = 1000, opt_workers, opt_spread, opt_rollover };
	static const option long_options[] = {
		{"help", no_argument, nullptr, 'h'},
		{"immediate", no_argument, nullptr, opt_immediate},
		{"immediate-mode", no_argument, nullptr, opt_immediate},
		{"workers", required_argument, nullptr, opt_workers},
		{"spread", required_argument, nullptr, opt_spread},
		{"rollover", no_argument, nullptr, opt_rollover},
		{nullptr, 0, nullptr, 0},
	};
	Args a;
	int c;
	while ((c = getopt_long(argc, argv, "+i:c:s:B:Q:w:r:C:G:W:z:pnexhD", long_options, nullptr)) != -1) {
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
		case 'C': a.rotate.max_bytes = tapdump::parse_file_size(optarg); break;
		case 'G':
			a.rotate.interval = std::chrono::seconds(number<unsigned>(optarg, "rotation seconds"));
			if (a.rotate.interval.count() == 0)
				die("invalid rotation seconds '0'");
			break;
		case 'W':
			a.rotate.max_files = number<unsigned>(optarg, "file count");
			if (a.rotate.max_files == 0)
				die("invalid file count '0'");
			break;
		case 'z': a.rotate.post_command = optarg; break;
		case opt_workers:
			a.workers = number<std::size_t>(optarg, "worker count");
			if (a.workers == 0 || a.workers > BPF_FANOUT_MAX_MEMBERS)
				die("--workers must be 1.." + std::to_string(BPF_FANOUT_MAX_MEMBERS));
			break;
		case opt_spread:
			if (!std::strcmp(optarg, "hash")) a.spread = tap::Spread::flow_hash;
			else if (!std::strcmp(optarg, "cpu")) a.spread = tap::Spread::cpu;
			else if (!std::strcmp(optarg, "rr")) a.spread = tap::Spread::round_robin;
			else die(std::string("invalid spread '") + optarg + "' (hash, cpu or rr)");
			break;
		case opt_rollover: a.rollover = true; break;
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
	const bool rotating = a.rotate.max_bytes || a.rotate.interval.count() || a.rotate.max_files;
	if ((rotating || !a.rotate.post_command.empty()) && (a.write_file.empty() || a.write_file == "-"))
		die("-C, -G, -W and -z need -w FILE");
	if (a.workers > 1 && (a.write_file.empty() || a.write_file == "-"))
		die("--workers needs -w FILE: each worker writes its own file");
	if (a.workers > 1 && !a.read_file.empty())
		die("--workers captures live; it cannot be used with -r");
	return a;
}

// Ctrl-C and friends end the capture through Device::interrupt(), which is
// async-signal-safe; the main loop then prints the summary.
std::atomic<tap::Device *> capture_device{nullptr};
std::atomic<tap::CaptureGroup *> capture_group{nullptr};
volatile sig_atomic_t stop_requested = 0;

extern "C" void on_signal(int)
{
	stop_requested = 1;
	if (tap::Device *d = capture_device.load())
		d->interrupt();
	if (tap::CaptureGroup *g = capture_group.load())
		g->interrupt();
}

void install_signals()
{
	struct sigaction sa {};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (int s : {SIGINT, SIGTERM, SIGHUP})
		sigaction(s, &sa, nullptr);
}

using tapdump::PcapHandle;
using tapdump::RotatingWriter;

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
	std::optional<RotatingWriter> writer;
	if (!a.write_file.empty())
		writer.emplace(a.write_file, dlt, static_cast<std::uint32_t>(pcap_snapshot(in.get())),
			       a.rotate);
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
		if (writer && !writer->write(when, bytes, h->len))
			break; // -G -W: the last file is done
		if (!writer)
			tapdump::print_packet(stdout, a.print, dlt, when, bytes, h->len);
		++n;
	}
	if (rc == PCAP_ERROR)
		die(a.read_file + ": " + pcap_geterr(in.get()));
	return 0;
}

tap::Options capture_options(const Args &a)
{
	tap::Options o;
	o.snap_length = a.snap_length;
	o.buffer_size = a.buffer_kib * 1024;
	o.promiscuous = a.promiscuous;
	o.immediate = a.immediate;
	o.direction = a.direction;
	o.filter = a.expression;
	return o;
}

// The file worker i of n writes: -w a.pcap gives a-0.pcap (a-0 without an
// extension); a single worker keeps the name.
std::string member_file(const std::string &path, std::size_t i, std::size_t n)
{
	if (n == 1)
		return path;
	const std::string tag = "-" + std::to_string(i);
	const auto slash = path.rfind('/');
	const auto base = slash == std::string::npos ? 0 : slash + 1;
	const auto dot = path.rfind('.');
	if (dot == std::string::npos || dot <= base)
		return path + tag;
	return path.substr(0, dot) + tag + path.substr(dot);
}

// What the workers share: the -c budget and a way to stop them all.
struct Run {
	const Args &args;
	std::function<void()> stop_all;
	std::atomic<std::uint64_t> taken{0}; // packets claimed against -c
};

// One capture loop (a worker, or the only one): read batches, write or
// print each packet. `captured` is read by the live count.
tap::Result<void> capture_loop(Run &run, tap::Device &device, std::size_t index,
			       std::atomic<std::uint64_t> &captured, bool live_count)
{
	const Args &a = run.args;
	std::optional<RotatingWriter> writer;
	if (!a.write_file.empty())
		writer.emplace(member_file(a.write_file, index, a.workers), device.datalink(),
			       a.snap_length, a.rotate);
	if (!writer && isatty(STDOUT_FILENO))
		setvbuf(stdout, nullptr, _IOLBF, 0);
	bool finished = false;
	tap::Result<void> result;
	// A file gets what the batches wrote once per flush_interval, not with
	// a write(2) per batch: on DPDK a batch is at most 256 packets, and
	// that write cost up to a fifth of tapdump's time at 30 Mpps. While
	// records wait unwritten, a read waits no longer than the rest of the
	// interval, so none waits longer than that (and one batch).
	using clock = std::chrono::steady_clock;
	constexpr auto flush_interval = std::chrono::milliseconds(1);
	auto last_flush = clock::now();
	bool unflushed = false;
	while (!stop_requested && !finished) {
		std::optional<std::chrono::nanoseconds> wait;
		if (unflushed)
			wait = std::max(std::chrono::nanoseconds::zero(), flush_interval - (clock::now() - last_flush));
		auto batch = device.read(wait);
		if (!batch) {
			if (batch.error().code != std::errc::interrupted)
				result = std::unexpected(std::move(batch.error()));
			break;
		}
		std::uint64_t written = 0; // into `captured` once per batch, not per packet
		for (const tap::PacketView p : *batch) {
			// Claim a slot first: the workers together write exactly -c.
			const std::uint64_t slot = a.count ? run.taken.fetch_add(1) : 0;
			if (a.count && slot >= a.count) {
				finished = true;
				break;
			}
			if (writer) {
				if (!writer->write(p.timestamp(), p.bytes(), p.wire_length())) {
					finished = true; // -G -W: the last file is done
					break;
				}
			} else {
				tapdump::print_packet(stdout, a.print, device.datalink(), p.timestamp(),
						      p.bytes(), p.wire_length());
			}
			++written;
			if (a.count && slot + 1 == a.count) {
				finished = true; // the last one: stop without waiting for more
				break;
			}
		}
		captured.fetch_add(written, std::memory_order_relaxed);
		if (batch->error()) {
			// A corrupt record ends the batch; the records before it are out.
			result = std::unexpected(tap::Error{batch->error(), device.name()});
			break;
		}
		if (writer) {
			const auto now = clock::now();
			unflushed = unflushed || written > 0;
			if (unflushed && now - last_flush >= flush_interval) {
				writer->flush();
				last_flush = now;
				unflushed = false;
			}
		} else {
			std::fflush(stdout);
		}
		if (live_count)
			std::fprintf(stderr, "\rGot %llu", static_cast<unsigned long long>(captured.load()));
	}
	if (finished)
		run.stop_all();
	if (writer)
		writer->close();
	return result;
}

void print_count(const char *what, std::uint64_t n)
{
	std::fprintf(stderr, "%llu packet%s %s\n", static_cast<unsigned long long>(n), n == 1 ? "" : "s",
		     what);
}

void print_summary(std::uint64_t captured, const tap::Result<tap::Stats> &stats)
{
	print_count("captured", captured);
	if (!stats) {
		std::fprintf(stderr, "tapdump: %s\n", stats.error().message().c_str());
		return;
	}
	print_count("received by filter", stats->received);
	print_count("dropped by kernel", stats->dropped);
}

void print_listening(const Args &a, int dlt, const char *how)
{
	std::fprintf(stderr, "tapdump: listening on %s%s, link-type %s (%s), snapshot length %u bytes\n",
		     a.interface.c_str(), how, link_name(dlt), link_description(dlt), a.snap_length);
}

int capture_one(const Args &a)
{
	auto opened = tap::Device::open(a.interface, capture_options(a));
	if (!opened)
		die(opened.error().message());
	tap::Device device = std::move(*opened);
	capture_device = &device;
	install_signals();
	print_listening(a, device.datalink(), "");
	const bool live_count = !a.write_file.empty() && a.write_file != "-" && isatty(STDERR_FILENO);
	Run run{a, [&device] { device.interrupt(); }};
	std::atomic<std::uint64_t> captured{0};
	auto result = capture_loop(run, device, 0, captured, live_count);
	capture_device = nullptr;
	if (live_count)
		std::fputc('\n', stderr);
	if (!result)
		std::fprintf(stderr, "tapdump: %s\n", result.error().message().c_str());
	print_summary(captured, device.stats());
	return result ? 0 : 1;
}

// --workers N: a capture group, one thread per member (CaptureGroup::run);
// this thread keeps the live count.
int capture_workers(const Args &a)
{
	tap::GroupOptions g;
	g.members = a.workers;
	g.spread = a.spread;
	g.rollover = a.rollover;
	auto opened = tap::CaptureGroup::open(a.interface, g, capture_options(a));
	if (!opened)
		die(opened.error().message());
	tap::CaptureGroup group = std::move(*opened);
	capture_group = &group;
	install_signals();
	print_listening(a, group[0].datalink(), (" with " + std::to_string(a.workers) + " workers").c_str());
	const bool live_count = isatty(STDERR_FILENO);
	Run run{a, [&group] { group.interrupt(); }};
	// A cache line per worker's count, so workers on different CPUs do not
	// pass one line back and forth on every packet.
	struct alignas(64) Count {
		std::atomic<std::uint64_t> n{0};
	};
	std::vector<Count> captured(a.workers);
	std::atomic<bool> done{false};
	tap::Result<void> result;
	std::thread runner([&] {
		result = group.run([&](std::size_t i, tap::Device &member) {
			return capture_loop(run, member, i, captured[i].n, false);
		});
		done = true;
	});
	auto total = [&] {
		std::uint64_t n = 0;
		for (auto &c : captured)
			n += c.n.load(std::memory_order_relaxed);
		return n;
	};
	while (!done) {
		std::this_thread::sleep_for(std::chrono::milliseconds(200));
		if (!live_count)
			continue;
		std::string line = "\rGot " + std::to_string(total()) + " (";
		for (std::size_t i = 0; i < captured.size(); ++i)
			line += (i ? " " : "") + std::to_string(i) + ": " + std::to_string(captured[i].n.load());
		std::fprintf(stderr, "%s)", line.c_str());
	}
	runner.join();
	capture_group = nullptr;
	if (live_count)
		std::fputc('\n', stderr);
	if (!result)
		std::fprintf(stderr, "tapdump: %s\n", result.error().message().c_str());
	if (auto each = group.member_stats()) {
		for (std::size_t i = 0; i < each->size(); ++i)
			std::fprintf(stderr, "worker %zu: %llu captured, %llu received by filter, %llu dropped by kernel\n",
				     i, static_cast<unsigned long long>(captured[i].n.load()),
				     static_cast<unsigned long long>((*each)[i].received),
				     static_cast<unsigned long long>((*each)[i].dropped));
	}
	print_summary(total(), group.stats());
	return result ? 0 : 1;
}

int capture(const Args &a)
{
	return a.workers > 1 ? capture_workers(a) : capture_one(a);
}

} // namespace

int main(int argc, char **argv)
{
	tools::program = "tapdump";
	const Args args = parse_args(argc, argv);
	return args.read_file.empty() ? capture(args) : read_file(args);
}
