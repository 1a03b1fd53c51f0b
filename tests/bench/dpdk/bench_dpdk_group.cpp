// bench_dpdk_group [--smoke] [--reps N] [TAPDUMP] [SECONDS]: capture groups
// on the DPDK backend, ratios in one run (make bench):
//   group   a tap::CaptureGroup on net_null (64-byte frames) with the filter
//           "tcp port 80" on: 1 member (1 queue) read on 1 pinned thread,
//           against 2 members (2 queues, RSS) read by CaptureGroup::run, each
//           thread pinned to its own CPU. Packets/s taken from the queues.
//           Goal: 2 queues >= 1.8x one.
//   tapdump tapdump -i dpdk:net_null0 -w FILE to tmpfs (a ring of two 64 MB
//           files per worker, -C 64 -W 2), --workers 2 against one worker.
// The cases alternate REPS times (default 5); each repetition's ratio is
// printed, then the median and the spread. The readers' CPU share is shown
// too: on a machine busy with other work the threads do not get whole CPUs,
// and the wall ratio then says so rather than what the code can do. --smoke (make check): 0.2 s of a
// 2-member group, both members must read packets; no timing is judged.
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <tap/tap.hpp>

#include "bench_common.hpp"

using namespace std::chrono;

namespace {

struct Rate {
	double pps = 0;                    // all members together
	std::vector<std::uint64_t> frames; // per member
	std::vector<double> cpu;           // per member: its thread's CPU time / wall time
};

double thread_cpu_seconds()
{
	timespec ts{};
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// A group of `members` queues on a fresh net_null port, the filter on, each
// member's thread pinned to its own CPU, reading for `seconds`.
Rate group_rate(int serial, std::size_t members, double seconds, const std::vector<int> &cpus)
{
	tap::Options o;
	o.filter = "tcp port 80"; // net_null's frames are zeros: every one is rejected
	tap::GroupOptions g;
	g.members = members;
	auto group = tap::CaptureGroup::open("dpdk:net_null" + std::to_string(serial), g, o);
	if (!group) {
		std::fprintf(stderr, "bench_dpdk_group: %s\n", group.error().message().c_str());
		std::exit(1);
	}
	std::vector<double> took(members), cpu(members);
	std::atomic<std::size_t> ready{0};
	auto r = group->run([&](std::size_t i, tap::Device &member) -> tap::Result<void> {
		bench::pin_to(cpus[i % cpus.size()]);
		for (int k = 0; k < 100; ++k) // warm up: pools, JIT, caches
			if (auto b = member.try_read(); !b)
				return std::unexpected(b.error());
		++ready;
		while (ready.load() < members)
			std::this_thread::yield();
		const double cpu0 = thread_cpu_seconds();
		const auto start = steady_clock::now();
		const auto end = start + duration_cast<steady_clock::duration>(duration<double>(seconds));
		std::uint64_t sum = 0;
		auto now = start;
		while (now < end) {
			auto b = member.read(milliseconds(100));
			if (!b)
				return std::unexpected(b.error());
			for (const tap::PacketView p : *b)
				sum += p.captured_length();
			now = steady_clock::now();
		}
		took[i] = duration<double>(now - start).count();
		cpu[i] = (thread_cpu_seconds() - cpu0) / took[i];
		if (sum == 42)
			std::puts(""); // keep the loop
		return {};
	});
	if (!r) {
		std::fprintf(stderr, "bench_dpdk_group: %s\n", r.error().message().c_str());
		std::exit(1);
	}
	auto each = group->member_stats();
	if (!each)
		std::exit(1);
	Rate out;
	out.cpu = cpu;
	for (std::size_t i = 0; i < members; ++i) {
		out.frames.push_back((*each)[i].received);
		out.pps += static_cast<double>((*each)[i].received) / took[i];
	}
	return out;
}

// The CPU time a process has used, all its threads (utime + stime).
double process_cpu_seconds(pid_t pid)
{
	std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
	std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
	const auto paren = text.rfind(')');
	if (paren == std::string::npos)
		return 0;
	std::istringstream fields(text.substr(paren + 2));
	std::string skip;
	for (int i = 0; i < 11; ++i) // state .. cmajflt: fields 3 to 13
		fields >> skip;
	double utime = 0, stime = 0;
	fields >> utime >> stime;
	return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// tapdump with `workers` workers writing to dir for `secs` after it said
// "listening": packets captured per second, and its CPU time over that
// window (all threads). Zero rate: no result (it never started, or died).
struct DumpRate {
	double pps = 0;
	double cpu = 0; // CPU-seconds per second of the window: up to the CPUs used
};

DumpRate tapdump_rate(const std::string &tool, int workers, const std::string &dir, double secs)
{
	const std::string err = dir + "/tapdump.err";
	const pid_t pid = fork();
	if (pid == 0) {
		if (!std::freopen(err.c_str(), "w", stderr))
			_exit(127);
		std::vector<std::string> argv = {tool, "-i", "dpdk:net_null0", "--workers", std::to_string(workers),
						 "-w", dir + "/cap.pcap", "-C", "64", "-W", "2"};
		std::vector<char *> args;
		for (auto &a : argv)
			args.push_back(a.data());
		args.push_back(nullptr);
		execvp(args[0], args.data());
		_exit(127);
	}
	auto said = [&](const char *what) {
		std::ifstream in(err);
		std::stringstream text;
		text << in.rdbuf();
		return text.str().find(what) != std::string::npos ? text.str() : std::string();
	};
	const auto give_up = steady_clock::now() + seconds(30); // EAL start on a loaded machine
	while (said("listening").empty() && steady_clock::now() < give_up)
		std::this_thread::sleep_for(milliseconds(10));
	const auto t0 = steady_clock::now();
	const double cpu0 = process_cpu_seconds(pid);
	std::this_thread::sleep_for(duration<double>(secs));
	const double cpu1 = process_cpu_seconds(pid);
	kill(pid, SIGINT);
	const double ran = duration<double>(steady_clock::now() - t0).count();
	waitpid(pid, nullptr, 0);
	const std::string text = said(" packets captured");
	std::system(("rm -f '" + dir + "'/cap*").c_str());
	const auto at = text.find(" packets captured");
	if (at == std::string::npos) {
		std::fprintf(stderr, "bench_dpdk_group: no result from %s; it said:\n%s\n", tool.c_str(),
			     said("").c_str());
		return {};
	}
	const auto line = text.rfind('\n', at);
	return {std::strtod(text.c_str() + (line == std::string::npos ? 0 : line + 1), nullptr) / ran,
		(cpu1 - cpu0) / ran};
}

void summary(const char *what, const std::vector<double> &ratios, const char *goal)
{
	const auto [lo, hi] = std::minmax_element(ratios.begin(), ratios.end());
	std::printf("%s: median %.2fx, spread %.2f..%.2f over %zu runs%s\n", what, bench::median(ratios), *lo, *hi,
		    ratios.size(), goal);
}

} // namespace

int main(int argc, char **argv)
{
	bool smoke = false;
	int reps = 5;
	// The build's own tapdump (build/utils/tapdump), not one on PATH.
	std::string tool = "tapdump";
	char self[4096];
	if (const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1); n > 0) {
		std::string dir(self, static_cast<std::size_t>(n));
		dir.resize(dir.rfind('/'));
		if (access((dir + "/../../../utils/tapdump/tapdump").c_str(), X_OK) == 0)
			tool = dir + "/../../../utils/tapdump/tapdump";
	}
	double seconds = 2;
	for (int i = 1; i < argc; ++i) {
		const std::string a = argv[i];
		if (a == "--smoke")
			smoke = true;
		else if (a == "--reps" && i + 1 < argc)
			reps = std::max(1, std::atoi(argv[++i]));
		else if (a.starts_with("--"))
			continue; // scripts/bench may pass benchmark flags
		else if (std::isdigit(static_cast<unsigned char>(a[0])))
			seconds = std::strtod(a.c_str(), nullptr);
		else
			tool = a;
	}
	const std::vector<int> cpus = bench::allowed_cpus();
	if (smoke) {
		const Rate r = group_rate(0, 2, 0.2, cpus);
		std::printf("2 members: %llu and %llu packets\n", static_cast<unsigned long long>(r.frames[0]),
			    static_cast<unsigned long long>(r.frames[1]));
		if (r.frames[0] == 0 || r.frames[1] == 0)
			return 1;
		std::puts("smoke ok");
		return 0;
	}
	std::printf("bench_dpdk_group: %.1f s per case, %d runs, CPUs", seconds, reps);
	for (int c : cpus)
		std::printf(" %d", c);
	std::printf("; load average at start: ");
	std::fflush(stdout);
	std::system("cut -d' ' -f1-3 /proc/loadavg");
	if (cpus.size() < 2)
		std::printf("  (one CPU allowed: the 2-queue case shares it)\n");

	std::vector<double> group_ratios, cpu_ratios, dump_ratios;
	int serial = 1;
	for (int rep = 0; rep < reps; ++rep) {
		const Rate one = group_rate(serial++, 1, seconds, cpus);
		const Rate two = group_rate(serial++, 2, seconds, cpus);
		group_ratios.push_back(two.pps / one.pps);
		// Packets per CPU-second of the reader threads: when other work
		// takes the CPUs, the wall ratio shows the share the threads got,
		// this one whether a second queue costs anything per packet.
		cpu_ratios.push_back((two.pps / (two.cpu[0] + two.cpu[1])) / (one.pps / one.cpu[0]));
		std::printf("  run %d: net_null, tcp port 80: 1 queue %.2f Mpps (CPU %.0f%%); 2 queues %.2f Mpps "
			    "(%.2f + %.2f M frames, CPU %.0f%% %.0f%%); %.2fx\n",
			    rep + 1, one.pps / 1e6, one.cpu[0] * 100, two.pps / 1e6,
			    static_cast<double>(two.frames[0]) / 1e6, static_cast<double>(two.frames[1]) / 1e6,
			    two.cpu[0] * 100, two.cpu[1] * 100, group_ratios.back());
	}
	summary("group, 2 queues on 2 CPUs / 1 queue on 1", group_ratios, " (goal >= 1.8x)");
	summary("  the same per CPU-second of the readers (1.0: no cost per packet)", cpu_ratios, "");

	char tmpl[] = "/dev/shm/bench_dpdk_group.XXXXXX";
	const char *dir = mkdtemp(tmpl);
	if (!dir)
		return 1;
	std::vector<double> dump_cpu_ratios;
	for (int rep = 0; rep < reps; ++rep) {
		const DumpRate one = tapdump_rate(tool, 1, dir, seconds);
		const DumpRate two = tapdump_rate(tool, 2, dir, seconds);
		if (one.pps <= 0 || two.pps <= 0) {
			std::printf("  run %d: tapdump: no result\n", rep + 1);
			continue;
		}
		dump_ratios.push_back(two.pps / one.pps);
		if (one.cpu > 0 && two.cpu > 0)
			dump_cpu_ratios.push_back((two.pps / two.cpu) / (one.pps / one.cpu));
		std::printf("  run %d: tapdump -w (tmpfs, -C 64 -W 2) on net_null: 1 worker %.2f Mpps (CPU %.0f%%); "
			    "--workers 2 %.2f Mpps (CPU %.0f%%); %.2fx\n",
			    rep + 1, one.pps / 1e6, one.cpu * 100, two.pps / 1e6, two.cpu * 100, dump_ratios.back());
	}
	if (!dump_ratios.empty())
		summary("tapdump --workers 2 / 1 worker", dump_ratios, "");
	if (!dump_cpu_ratios.empty())
		summary("  the same per CPU-second of tapdump", dump_cpu_ratios, "");
	rmdir(dir);
	return 0;
}
