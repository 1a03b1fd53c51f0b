// bench_dpdk [--smoke] [--rounds=N] [--cases=C,...] [--sources=S,...] [TAPDUMP] [SECONDS]:
// packets per second on one lcore
// for, in one run and on the same virtual device:
//   testpmd  dpdk-testpmd --forward-mode=rxonly (its forwarding lcore)
//   off      libtap's read loop touching every field of every view
//   filter   the same with "tcp port 80" (libtap's cBPF JIT)
//   tapdump  tapdump -w /dev/null on the device
// over net_null (64-byte zero frames), net_pcap,infinite_rx=1 over a
// synthetic mix of small frames (3 in 8 TCP port 80: the hardest case for
// per-packet overhead) and net_pcap,infinite_rx=1 over real captures (up to
// 1024 untruncated Ethernet frames, at most 8 per file, from the tcpdump
// source's test captures that cbpf.fetch_corpus fetches; skipped, saying
// so, when they are not there). Ratios are against
// testpmd of the same round on the same device; N rounds (3) of all four
// cases back to back, then medians and ranges. --cases (testpmd, off,
// filter, tapdump) and --sources (null, pcap) pick a subset, e.g. for perf. Each rate is given per
// second the polling thread spent on a CPU (schedstat / the thread's CPU
// clock: one lcore's rate, even when other work shares the CPU) and per
// second of wall time. --smoke: the read loop for 0.2 s, no tools.
//
// Same conditions for each: the same vdev string, bursts of 32, 1024 receive
// descriptors, a 256-mbuf per-lcore cache in a pool of 4095 mbufs (what a
// Device opens with the default Options), and the polling thread on the same
// CPU (the last one this process may use; testpmd's main lcore, which only
// prints stats, on the first). What each touches per packet:
//   testpmd  the mbuf header (in the PMD) and nothing else: rx_burst, free_bulk
//   off      that, plus a 32-byte view per packet (pointer, lengths, stamp)
//            which the loop reads back; no packet bytes. The loop runs
//            until a flag is set, as testpmd's: no clock read per batch
//   filter   that, plus the headers the compiled filter reads
//   tapdump  that, plus a 16-byte record header and a copy of every byte
//            into a 256 KiB buffer, one write(2) per batch
#include <pcap/pcap.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <tap/tap.hpp>

#include "bench_common.hpp"
#include "frames.hpp" // tests/host/cbpf: the corpus reader and pcap writer

namespace testframes = tap::cbpf::testing;

using namespace std::chrono;

namespace {

// 8 kinds of frame, as in the spike's generator: IPv4 TCP ->80, TCP 80->,
// TCP ->443, UDP ->53, UDP ->80, IPv6 TCP ->80, ARP, VLAN + TCP ->80.
void write_mix(const std::string &path, int frames)
{
	std::vector<testframes::Frame> mix;
	for (int i = 0; i < frames; ++i) {
		std::vector<std::uint8_t> f = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
		auto u16 = [&](unsigned v) { f.push_back(std::uint8_t(v >> 8)); f.push_back(std::uint8_t(v)); };
		auto ipv4 = [&](unsigned proto, unsigned l4len) {
			u16(0x0800);
			const std::uint8_t h[20] = {0x45, 0, std::uint8_t((20 + l4len) >> 8), std::uint8_t(20 + l4len), 0, 1, 0x40, 0, 64,
						    std::uint8_t(proto), 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
			f.insert(f.end(), h, h + 20);
		};
		auto l4 = [&](unsigned sport, unsigned dport, bool tcp) {
			u16(sport), u16(dport);
			f.resize(f.size() + (tcp ? 16 : 4) + 64, 0);
		};
		switch (i % 8) {
		case 0: ipv4(6, 84), l4(40000, 80, true); break;
		case 1: ipv4(6, 84), l4(80, 40001, true); break;
		case 2: ipv4(6, 84), l4(40000, 443, true); break;
		case 3: ipv4(17, 72), l4(5353, 53, false); break;
		case 4: ipv4(17, 72), l4(5353, 80, false); break;
		case 5: {
			u16(0x86dd);
			const std::uint8_t h[8] = {0x60, 0, 0, 0, 0, 84, 6, 64};
			f.insert(f.end(), h, h + 8);
			f.resize(f.size() + 32, 0);
			l4(40000, 80, true);
			break;
		}
		case 6: u16(0x0806), f.resize(f.size() + 28, 0); break;
		default:
			u16(0x8100), u16(10);
			ipv4(6, 84), l4(40000, 80, true);
		}
		f.resize(std::max<std::size_t>(f.size(), 60));
		const auto len = static_cast<std::uint32_t>(f.size());
		mix.push_back({std::move(f), len});
	}
	testframes::write_pcap(path, mix);
}

// Up to max frames from the Ethernet captures in dir (sorted by name),
// untruncated and at most one MTU frame (14..1514 bytes), at most per_file
// from each, into one pcap; the number written (0: none found).
int write_corpus(const std::string &dir, const std::string &path, std::size_t max, std::size_t per_file)
{
	std::vector<std::filesystem::path> files;
	std::error_code ec;
	for (const auto &e : std::filesystem::directory_iterator(dir, ec))
		if (e.path().extension() == ".pcap")
			files.push_back(e.path());
	std::sort(files.begin(), files.end());
	std::vector<testframes::Frame> picked;
	for (const auto &f : files) {
		if (picked.size() >= max)
			break;
		const testframes::Capture c = testframes::read_capture(f);
		if (c.linktype != DLT_EN10MB)
			continue;
		std::size_t taken = 0;
		for (const auto &fr : c.frames)
			if (picked.size() < max && taken < per_file && fr.bytes.size() == fr.wire_len &&
			    fr.bytes.size() >= 14 && fr.bytes.size() <= 1514)
				picked.push_back(fr), ++taken;
	}
	return !picked.empty() && testframes::write_pcap(path, picked) ? static_cast<int>(picked.size()) : 0;
}

// pps: packets per second of wall-clock time; cpu_pps: per second the
// polling thread was on a CPU (what one lcore does when it is not shared;
// on a loaded machine the wall rate mostly measures the scheduler's share).
struct Result {
	double pps = 0;
	double cpu_pps = 0;
	std::uint64_t packets = 0;  // delivered (the filter kept)
	std::uint64_t received = 0; // taken from the queue
};

// Nanoseconds a thread ran on a CPU (the first field of schedstat).
double thread_cpu_ns(pid_t pid, pid_t tid)
{
	const std::string path = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/schedstat";
	double ns = 0;
	if (FILE *f = std::fopen(path.c_str(), "r")) {
		if (std::fscanf(f, "%lf", &ns) != 1)
			ns = 0;
		std::fclose(f);
	}
	return ns;
}

// testpmd's forwarding lcore thread: "rte-worker-1" (DPDK 22.11) or
// "dpdk-worker1" (later); 0 while there is none.
pid_t worker_thread(pid_t pid)
{
	std::error_code ec;
	for (const auto &e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec))
		if (bench::first_line(e.path() / "comm").find("worker") != std::string::npos)
			return static_cast<pid_t>(std::atoi(e.path().filename().c_str()));
	return 0;
}

// The CPUs this process may use: the polling thread of every case runs on
// the last, testpmd's stats-printing main lcore on the first.
struct Cpus {
	int first = 0, last = 0;
	cpu_set_t all; // as this process started
};

Cpus allowed_cpus()
{
	Cpus c;
	CPU_ZERO(&c.all);
	sched_getaffinity(0, sizeof c.all, &c.all);
	if (const std::vector<int> cpus = bench::allowed_cpus(); !cpus.empty())
		c.first = cpus.front(), c.last = cpus.back();
	return c;
}

void set_cpus(const cpu_set_t &set)
{
	if (sched_setaffinity(0, sizeof set, &set) != 0) {
		std::perror("bench_dpdk: sched_setaffinity");
		std::exit(1);
	}
}

void pin_to(int cpu)
{
	if (!bench::pin_to(cpu)) {
		std::perror("bench_dpdk: sched_setaffinity");
		std::exit(1);
	}
}

// The read loop a capture application runs, touching every view. Like
// testpmd's forwarding lcore, which runs until its main lcore sets a flag,
// it reads no clock: a timer thread on timer_cpu (where testpmd's main
// lcore runs) sets stop when the time is up.
Result read_loop(const std::string &spec, const char *filter, double seconds, int timer_cpu)
{
	tap::Options o;
	if (filter)
		o.filter = filter;
	auto dev = tap::Device::open(spec, o);
	if (!dev) {
		std::fprintf(stderr, "bench_dpdk: %s\n", dev.error().message().c_str());
		std::exit(1);
	}
	std::uint64_t n = 0, sum = 0;
	for (int i = 0; i < 100; ++i) // warm up
		(void)dev->try_read();
	auto before = dev->stats();
	const std::uint64_t received0 = before ? before->received : 0;
	timespec cpu0, cpu1;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
	const auto start = steady_clock::now();
	std::atomic<bool> stop{false};
	std::thread timer([&] {
		pin_to(timer_cpu);
		std::this_thread::sleep_until(start + duration_cast<steady_clock::duration>(duration<double>(seconds)));
		stop.store(true, std::memory_order_relaxed);
	});
	while (!stop.load(std::memory_order_relaxed)) {
		auto b = dev->read(milliseconds(100));
		if (!b)
			std::exit(1);
		for (const tap::PacketView p : *b) { // every field of the view, as bench_parse
			sum += p.captured_length() + p.wire_length() +
			       static_cast<std::uint64_t>(p.timestamp().time_since_epoch().count()) +
			       reinterpret_cast<std::uintptr_t>(p.bytes().data());
			++n;
		}
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
	const auto now = steady_clock::now();
	timer.join();
	const double secs = duration<double>(now - start).count();
	const double cpu_secs = double(cpu1.tv_sec - cpu0.tv_sec) + double(cpu1.tv_nsec - cpu0.tv_nsec) / 1e9;
	if (sum == 42)
		std::puts(""); // keep the loop
	// The rate of frames taken from the queue (before the filter), the
	// figure testpmd's Rx-pps is; n counts those the filter kept.
	auto st = dev->stats();
	const double frames = st ? static_cast<double>(st->received - received0) : static_cast<double>(n);
	return {frames / secs, frames / cpu_secs, n, static_cast<std::uint64_t>(frames)};
}

// Run argv until seconds after it printed `ready` on stderr (or at once if
// ready is empty), SIGINT it, return everything it wrote.
// at_ready(pid) runs when it printed `ready`, before_stop(pid) just before
// SIGINT, while_running(pid) every 20 ms or sooner until it exits.
std::string run_for(std::vector<std::string> argv, const char *ready, double seconds, double &ran,
		    const cpu_set_t &cpus, const std::function<void(pid_t)> &at_ready = {},
		    const std::function<void(pid_t)> &before_stop = {},
		    const std::function<void(pid_t)> &while_running = {})
{
	int out[2];
	if (pipe(out) != 0)
		std::exit(1);
	const pid_t pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(out[1], 2);
		close(out[0]);
		set_cpus(cpus);
		std::vector<char *> args;
		for (auto &a : argv)
			args.push_back(a.data());
		args.push_back(nullptr);
		execvp(args[0], args.data());
		_exit(127);
	}
	close(out[1]);
	std::string text;
	char buf[4096];
	steady_clock::time_point t0 = steady_clock::now();
	bool started = !ready || !*ready;
	bool stopped = false;
	for (;;) {
		fd_set fds;
		FD_ZERO(&fds);
		FD_SET(out[0], &fds);
		timeval tv{0, 20000};
		if (select(out[0] + 1, &fds, nullptr, nullptr, &tv) > 0) {
			const ssize_t r = ::read(out[0], buf, sizeof buf);
			if (r <= 0)
				break;
			text.append(buf, static_cast<std::size_t>(r));
			if (!started && text.find(ready) != std::string::npos) {
				started = true;
				t0 = steady_clock::now();
				if (at_ready)
					at_ready(pid);
			}
		}
		if (while_running)
			while_running(pid);
		if (started && !stopped && duration<double>(steady_clock::now() - t0).count() >= seconds) {
			if (before_stop)
				before_stop(pid);
			ran = duration<double>(steady_clock::now() - t0).count();
			kill(pid, SIGINT);
			stopped = true;
		}
	}
	close(out[0]);
	waitpid(pid, nullptr, 0);
	return text;
}

Result testpmd(const std::string &vdev, double seconds, const Cpus &cpus)
{
	double ran = 0, worker_ns = 0;
	pid_t worker = 0;
	// stdbuf: testpmd dies by re-raising SIGINT, so its buffered output would be lost.
	// lcore 0 (main, stats) on the first CPU, lcore 1 (forwarding) on the last.
	const std::string lcores = "--lcores=0@" + std::to_string(cpus.first) + ",1@" + std::to_string(cpus.last);
	const std::string out = run_for({"stdbuf", "-oL", "dpdk-testpmd", lcores, "--no-huge", "--no-pci", "-m", "512",
					 "--no-shconf", "--no-telemetry", "--vdev=" + vdev, "--",
					 "--forward-mode=rxonly", "--stats-period=1", "--burst=32", "--rxd=1024",
					 "--txd=512", "--mbcache=256", "--total-num-mbufs=4095"},
					// timed from the start of forwarding: EAL start-up takes seconds on a loaded machine
					"start packet forwarding", seconds, ran, cpus.all, {}, {}, [&](pid_t pid) {
						// Until the worker is gone: after SIGINT testpmd's main
						// thread finishes its 1 s stats sleep before it stops
						// forwarding, and those packets count in its summary.
						if (worker == 0)
							worker = worker_thread(pid);
						if (worker)
							worker_ns = std::max(worker_ns, thread_cpu_ns(pid, worker));
					});
	// Rx-pps of each one-second period; the first includes start-up.
	std::vector<double> pps;
	for (std::size_t at = 0; (at = out.find("Rx-pps:", at)) != std::string::npos; at += 7)
		pps.push_back(std::strtod(out.c_str() + at + 7, nullptr));
	std::erase_if(pps, [](double v) { return v <= 0; }); // periods before forwarding began
	if (pps.size() > 2)
		pps.erase(pps.begin()); // the first: part start-up
	if (pps.empty()) {
		std::fprintf(stderr, "bench_dpdk: no Rx-pps from dpdk-testpmd; it said:\n%s\n", out.c_str());
		return {};
	}
	std::sort(pps.begin(), pps.end());
	// The forwarding lcore's packets (the summary at exit) over the time
	// it ran; it sleeps until forwarding starts.
	double total = 0;
	if (const auto at = out.rfind("Accumulated forward statistics"); at != std::string::npos)
		if (const auto rx = out.find("RX-packets:", at); rx != std::string::npos)
			total = std::strtod(out.c_str() + rx + 11, nullptr);
	return {pps[pps.size() / 2], worker_ns > 0 ? total / (worker_ns / 1e9) : 0,
		static_cast<std::uint64_t>(total)}; // the median period
}

Result tapdump(const std::string &tool, const std::string &spec, double seconds, int cpu)
{
	cpu_set_t cpus;
	CPU_ZERO(&cpus);
	CPU_SET(cpu, &cpus);
	double ran = 0;
	// Its main thread polls; its CPU time from "listening" to the stop.
	double ns0 = 0, ns1 = 0;
	const std::string out = run_for({tool, "-i", spec, "-w", "/dev/null"}, "listening", seconds, ran, cpus,
					[&](pid_t pid) { ns0 = thread_cpu_ns(pid, pid); },
					[&](pid_t pid) { ns1 = thread_cpu_ns(pid, pid); });
	const auto at = out.find(" packets captured");
	if (at == std::string::npos || ran <= 0)
		return {};
	const auto line = out.rfind('\n', at);
	const double n = std::strtod(out.c_str() + (line == std::string::npos ? 0 : line + 1), nullptr);
	return {n / ran, ns1 > ns0 ? n / ((ns1 - ns0) / 1e9) : 0, static_cast<std::uint64_t>(n)};
}

void row(const char *what, const Result &r, const Result &anchor, bool is_anchor)
{
	if (r.pps <= 0) {
		std::printf("  %-9s  (no result)\n", what);
		return;
	}
	std::printf("  %-9s per CPU-s %6.2f Mpps %6.1f ns", what, r.cpu_pps / 1e6, r.cpu_pps > 0 ? 1e9 / r.cpu_pps : 0.0);
	if (!is_anchor && anchor.cpu_pps > 0)
		std::printf(" %5.2fx", r.cpu_pps / anchor.cpu_pps);
	else
		std::printf("       ");
	std::printf("  wall %6.2f Mpps", r.pps / 1e6);
	if (!is_anchor && anchor.pps > 0)
		std::printf(" %5.2fx", r.pps / anchor.pps);
	std::printf("\n");
}

// Over the rounds: the median rate (and its range), and the median of each
// round's ratio to that round's testpmd (and its range) -- a round's cases
// ran back to back, so its ratio saw one machine state.
void summary(const char *what, const std::vector<double> &pps, const std::vector<double> &ratio)
{
	if (pps.empty()) {
		std::printf("  %-9s  (no result)\n", what);
		return;
	}
	const double m = bench::median(pps);
	std::printf("  %-9s %7.2f Mpps (%.2f-%.2f) %6.1f ns/packet", what, m / 1e6,
		    *std::min_element(pps.begin(), pps.end()) / 1e6, *std::max_element(pps.begin(), pps.end()) / 1e6,
		    1e9 / m);
	if (!ratio.empty())
		std::printf("  %.2fx testpmd (%.2f-%.2f)", bench::median(ratio), *std::min_element(ratio.begin(), ratio.end()),
			    *std::max_element(ratio.begin(), ratio.end()));
	std::printf("  %.2fx of 14.88 Mpps\n", m / 14.88e6);
}

std::string loadavg()
{
	return bench::first_line("/proc/loadavg");
}

} // namespace

int main(int argc, char **argv)
{
	bool smoke = false;
	std::string tool = BENCH_TAPDUMP;
	double seconds = 3;
	int rounds = 3;
	std::string cases = ",testpmd,off,filter,tapdump,", source_names = ",null,pcap,corpus,";
	std::string corpus_dir = BENCH_CORPUS;
	for (int i = 1; i < argc; ++i) {
		const std::string a = argv[i];
		if (a == "--smoke")
			smoke = true;
		else if (a.starts_with("--cases="))
			cases = "," + a.substr(8) + ",";
		else if (a.starts_with("--sources="))
			source_names = "," + a.substr(10) + ",";
		else if (a.starts_with("--corpus="))
			corpus_dir = a.substr(9);
		else if (a.starts_with("--rounds="))
			rounds = std::max(1, std::atoi(a.c_str() + 9));
		else if (a.starts_with("--"))
			continue; // scripts/bench may pass benchmark flags
		else if (std::isdigit(static_cast<unsigned char>(a[0])))
			seconds = std::strtod(a.c_str(), nullptr);
		else
			tool = a;
	}
	char tmpl[] = "/tmp/bench_dpdk.XXXXXX";
	const std::string dir = mkdtemp(tmpl);
	const std::string mix = dir + "/mix.pcap";
	write_mix(mix, 512);
	const std::string real = dir + "/corpus.pcap";
	const int real_frames = smoke ? 0 : write_corpus(corpus_dir, real, 1024, 8);
	struct Source {
		const char *name;
		std::string label;
		std::string vdev;
	};
	std::vector<Source> sources;
	for (const Source &s :
	     {Source{"null", "net_null", "net_null0"},
	      Source{"pcap", "net_pcap infinite_rx=1 (synthetic mix)", "net_pcap0,rx_pcap=" + mix + ",infinite_rx=1"},
	      Source{"corpus", "net_pcap infinite_rx=1 (" + std::to_string(real_frames) + " frames of real captures)",
		     "net_pcap1,rx_pcap=" + real + ",infinite_rx=1"}}) {
		if (source_names.find(std::string(",") + s.name + ",") == std::string::npos)
			continue;
		if (std::string_view(s.name) == "corpus" && real_frames == 0) {
			if (!smoke)
				std::printf("real captures: none in %s (ctest -R cbpf.fetch_corpus fetches them)\n",
					    corpus_dir.c_str());
			continue;
		}
		sources.push_back(s);
	}
	auto wanted = [&](const char *name) { return cases.find(std::string(",") + name + ",") != std::string::npos; };

	if (smoke) {
		for (auto &s : sources) {
			const Result off = read_loop("dpdk:" + s.vdev, nullptr, 0.2, allowed_cpus().first);
			const Result on = read_loop("dpdk:" + s.vdev, "tcp port 80", 0.2, allowed_cpus().first);
			std::printf("%s: %llu and %llu packets\n", s.label.c_str(), static_cast<unsigned long long>(off.packets),
				    static_cast<unsigned long long>(on.packets));
			if (off.packets == 0 || (s.vdev.starts_with("net_pcap") && on.packets == 0))
				return 1;
		}
		std::system(("rm -rf " + dir).c_str());
		std::puts("smoke ok");
		return 0;
	}
	// This thread polls in read_loop; the EAL it starts takes the CPU too
	// (libtap's default -l is the first CPU the caller may use).
	const Cpus cpus = allowed_cpus();
	pin_to(cpus.last);
	std::printf("bench_dpdk: %.1f s per case, %d rounds, polling on CPU %d; budget 14.88 Mpps = 67.2 ns/packet\n",
		    seconds, rounds, cpus.last);
	std::printf("load average at start: %s\n", loadavg().c_str());
	const char *names[] = {"testpmd", "off", "filter", "tapdump"};
	for (auto &s : sources) {
		std::printf("%s (dpdk:%s)\n", s.label.c_str(), s.vdev.c_str());
		std::vector<double> cpu[4], cpu_ratio[4], wall[4], wall_ratio[4];
		for (int r = 0; r < rounds; ++r) {
			std::printf(" round %d (load %s)\n", r + 1, loadavg().c_str());
			const Result res[4] = {
				wanted("testpmd") ? testpmd(s.vdev, seconds, cpus) : Result{},
				wanted("off") ? read_loop("dpdk:" + s.vdev, nullptr, seconds, cpus.first) : Result{},
				wanted("filter") ? read_loop("dpdk:" + s.vdev, "tcp port 80", seconds, cpus.first) : Result{},
				wanted("tapdump") ? tapdump(tool, "dpdk:" + s.vdev, seconds, cpus.last) : Result{}};
			for (int c = 0; c < 4; ++c) {
				row(names[c], res[c], res[0], c == 0);
				if (res[c].cpu_pps > 0)
					cpu[c].push_back(res[c].cpu_pps);
				if (res[c].pps > 0)
					wall[c].push_back(res[c].pps);
				if (c && res[c].cpu_pps > 0 && res[0].cpu_pps > 0)
					cpu_ratio[c].push_back(res[c].cpu_pps / res[0].cpu_pps);
				if (c && res[c].pps > 0 && res[0].pps > 0)
					wall_ratio[c].push_back(res[c].pps / res[0].pps);
			}
			if (res[2].received && s.vdev.starts_with("net_pcap"))
				std::printf("            (\"tcp port 80\" kept %llu of %llu frames)\n",
					    static_cast<unsigned long long>(res[2].packets),
					    static_cast<unsigned long long>(res[2].received));
		}
		std::printf(" %s over %d rounds, per second on a CPU: median (range)\n", s.label.c_str(), rounds);
		for (int c = 0; c < 4; ++c)
			summary(names[c], cpu[c], cpu_ratio[c]);
		std::printf(" %s over %d rounds, per second of wall time: median (range)\n", s.label.c_str(), rounds);
		for (int c = 0; c < 4; ++c)
			summary(names[c], wall[c], wall_ratio[c]);
	}
	std::printf("load average at end: %s\n", loadavg().c_str());
	std::system(("rm -rf " + dir).c_str());
	return 0;
}
