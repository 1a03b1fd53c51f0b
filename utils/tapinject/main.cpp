// tapinject: replay a pcap file out of an interface through libtap's write().
#include <getopt.h>
#include <pcap/pcap.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <tap/tap.hpp>

#include "cli.hpp"

namespace {

using tools::die;
using tools::number;

constexpr const char *usage_text =
	"Usage: tapinject -i IFACE [--count N] [--loop N] [--pps RATE] FILE\n"
	"\n"
	"Send the frames of a pcap file out of IFACE through /dev/bpf (bpfdev), or\n"
	"DPDK for dpdk: device strings, exactly as stored (link-layer source address\n"
	"included); batched writes unless paced.\n"
	"\n"
	"  -i, --interface IFACE  interface to send on (or a libtap device string)\n"
	"  -c, --count N          stop after N frames in all (default: every frame)\n"
	"  -l, --loop N           replay the file N times (default 1; 0 = until Ctrl-C)\n"
	"  -p, --pps RATE         send at most RATE frames per second (default: no limit)\n"
	"  -q, --quiet            print no per-error lines, only the summary\n"
	"  -h, --help             this text\n";

struct Args {
	std::string interface, file;
	std::uint64_t count = 0; // 0: no limit
	std::uint64_t loops = 1; // 0: forever
	double pps = 0;
	bool quiet = false;
};

Args parse_args(int argc, char **argv)
{
	static const option long_options[] = {
		{"interface", required_argument, nullptr, 'i'}, {"count", required_argument, nullptr, 'c'},
		{"loop", required_argument, nullptr, 'l'},      {"pps", required_argument, nullptr, 'p'},
		{"quiet", no_argument, nullptr, 'q'},           {"help", no_argument, nullptr, 'h'},
		{nullptr, 0, nullptr, 0},
	};
	Args a;
	int c;
	while ((c = getopt_long(argc, argv, "i:c:l:p:qh", long_options, nullptr)) != -1) {
		switch (c) {
		case 'i': a.interface = optarg; break;
		case 'c': a.count = number<std::uint64_t>(optarg, "count"); break;
		case 'l': a.loops = number<std::uint64_t>(optarg, "loop count"); break;
		case 'p':
			a.pps = number<double>(optarg, "rate");
			if (!(a.pps > 0))
				die("--pps must be positive");
			break;
		case 'q': a.quiet = true; break;
		case 'h': std::fputs(usage_text, stdout); std::exit(0);
		default: std::fputs(usage_text, stderr); std::exit(1);
		}
	}
	if (optind + 1 != argc) {
		std::fputs(usage_text, stderr);
		std::exit(1);
	}
	a.file = argv[optind];
	if (a.interface.empty())
		die("no interface: give -i IFACE");
	return a;
}

struct Trace {
	int datalink = 0;
	std::vector<std::vector<std::byte>> frames;
};

Trace load(const std::string &path)
{
	char err[PCAP_ERRBUF_SIZE] = "";
	std::unique_ptr<pcap_t, decltype(&pcap_close)> in(pcap_open_offline(path.c_str(), err), pcap_close);
	if (!in)
		die(err);
	Trace t;
	t.datalink = pcap_datalink(in.get());
	pcap_pkthdr *h;
	const u_char *data;
	int rc;
	while ((rc = pcap_next_ex(in.get(), &h, &data)) == 1) {
		if (h->caplen < h->len)
			std::fprintf(stderr, "tapinject: frame %zu was cut to %u of %u bytes; sending what is stored\n",
				     t.frames.size() + 1, h->caplen, h->len);
		const auto *p = reinterpret_cast<const std::byte *>(data);
		t.frames.emplace_back(p, p + h->caplen);
	}
	if (rc == PCAP_ERROR)
		die(path + ": " + pcap_geterr(in.get()));
	return t;
}

volatile sig_atomic_t stop_requested = 0;
extern "C" void on_signal(int) { stop_requested = 1; }

struct Tally {
	std::uint64_t sent = 0, failed = 0, bytes = 0;
	std::map<std::string, std::uint64_t> errors; // message -> times
	bool quiet = false;

	void failure(const tap::Error &e)
	{
		++failed;
		if (errors[e.message()]++ == 0 && !quiet)
			std::fprintf(stderr, "tapinject: %s\n", e.message().c_str());
	}
};

// Without a rate: batched writes of up to 64 frames; a short batch means
// the next frame failed, so send that one alone to learn why, and go on.
void send_batched(tap::Device &dev, std::span<const std::vector<std::byte>> frames, Tally &t)
{
	std::vector<std::span<const std::byte>> batch;
	std::size_t i = 0;
	while (i < frames.size() && !stop_requested) {
		batch.clear();
		for (std::size_t j = i; j < frames.size() && batch.size() < 64; ++j)
			batch.emplace_back(frames[j]);
		auto sent = dev.write(std::span<const std::span<const std::byte>>(batch));
		const std::size_t ok = sent ? *sent : 0;
		for (std::size_t k = 0; k < ok; ++k)
			t.bytes += batch[k].size();
		t.sent += ok;
		i += ok;
		if (ok < batch.size()) {
			if (sent) { // partial: the failing frame's error comes with a retry
				auto again = dev.write(batch[ok]);
				if (again) {
					++t.sent;
					t.bytes += batch[ok].size();
					++i;
					continue;
				}
				t.failure(again.error());
			} else {
				t.failure(sent.error());
			}
			++i; // skip the frame that failed
		}
	}
}

void send_paced(tap::Device &dev, std::span<const std::vector<std::byte>> frames, Tally &t,
		double pps, std::chrono::steady_clock::time_point start, std::uint64_t &index)
{
	using namespace std::chrono;
	for (const auto &f : frames) {
		if (stop_requested)
			return;
		const auto due = start + duration_cast<steady_clock::duration>(duration<double>(
						 static_cast<double>(index++) / pps));
		std::this_thread::sleep_until(due);
		if (auto r = dev.write(f)) {
			++t.sent;
			t.bytes += f.size();
		} else {
			t.failure(r.error());
		}
	}
}

} // namespace

int main(int argc, char **argv)
{
	tools::program = "tapinject";
	const Args a = parse_args(argc, argv);
	const Trace trace = load(a.file);

	tap::Options o;
	o.header_complete = true; // frames go out as stored
	o.buffer_size = 64 * 1024;
	o.filter_program = tap::Filter::accept_all(0); // "ret #0": capture nothing
	auto opened = tap::Device::open(a.interface, o);
	if (!opened)
		die(opened.error().message());
	tap::Device dev = std::move(*opened);
	if (dev.datalink() != trace.datalink)
		die(a.file + " has link type " + std::to_string(trace.datalink) + ", " + a.interface +
		    " has " + std::to_string(dev.datalink()));

	struct sigaction sa {};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (int s : {SIGINT, SIGTERM, SIGHUP})
		sigaction(s, &sa, nullptr);

	Tally tally;
	tally.quiet = a.quiet;
	const auto start = std::chrono::steady_clock::now();
	std::uint64_t index = 0, done = 0;
	for (std::uint64_t loop = 0; (a.loops == 0 || loop < a.loops) && !stop_requested; ++loop) {
		std::span<const std::vector<std::byte>> frames = trace.frames;
		if (a.count) {
			if (done >= a.count)
				break;
			frames = frames.first(std::min<std::uint64_t>(frames.size(), a.count - done));
		}
		if (frames.empty())
			break;
		if (a.pps > 0)
			send_paced(dev, frames, tally, a.pps, start, index);
		else
			send_batched(dev, frames, tally);
		done += frames.size();
	}
	const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
	std::printf("tapinject: sent %llu frames (%llu bytes), failed %llu, in %.3f s\n",
		    static_cast<unsigned long long>(tally.sent), static_cast<unsigned long long>(tally.bytes),
		    static_cast<unsigned long long>(tally.failed), secs);
	for (const auto &[message, times] : tally.errors)
		std::printf("tapinject:   %llu x %s\n", static_cast<unsigned long long>(times), message.c_str());
	return tally.failed ? 1 : 0;
}
