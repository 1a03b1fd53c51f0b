// EAL start-up: arguments, log capture, affinity, one init per process.
#include "eal.hpp"

#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>

namespace tap::dpdk {
namespace {

// --- log capture -------------------------------------------------------
// EAL writes its log through a stdio stream; ours keeps the last
// log_keep bytes and counts everything written, so marks stay valid.
// Written from any thread that logs (PMDs log from the datapath too).
constexpr std::size_t log_keep = 64 * 1024;

struct LogBuffer {
	std::mutex mutex;
	std::string text;     // the last log_keep bytes at most
	std::size_t total = 0; // bytes ever written
	bool echo = false;     // LIBTAP_DPDK_LOG=stderr
};

LogBuffer &log_buffer()
{
	static LogBuffer *b = new LogBuffer; // never destroyed: EAL may log during exit
	return *b;
}

ssize_t log_write(void *, const char *data, size_t size)
{
	LogBuffer &b = log_buffer();
	std::lock_guard lock(b.mutex);
	b.text.append(data, size);
	b.total += size;
	if (b.text.size() > log_keep)
		b.text.erase(0, b.text.size() - log_keep);
	if (b.echo)
		[[maybe_unused]] auto n = fwrite(data, 1, size, stderr);
	return static_cast<ssize_t>(size);
}

FILE *open_log_stream()
{
	cookie_io_functions_t io{};
	io.write = log_write;
	FILE *f = fopencookie(nullptr, "w", io);
	if (f)
		setvbuf(f, nullptr, _IOLBF, 0);
	const char *e = std::getenv("LIBTAP_DPDK_LOG");
	log_buffer().echo = e && std::strcmp(e, "stderr") == 0;
	return f;
}

// --- the EAL's state ----------------------------------------------------
struct EalState {
	bool running = false;
	bool by_application = false;        // rte_eal_init was called outside libtap
	std::vector<std::string> args;      // what it runs with
	std::optional<Error> failed;        // a failed init: DPDK cannot retry it
};

EalState &state()
{
	static EalState *s = new EalState; // never destroyed (see eal.hpp)
	return *s;
}

std::string join(const std::vector<std::string> &args)
{
	std::string s;
	for (const auto &a : args) {
		if (!s.empty())
			s += ' ';
		s += a;
	}
	return s;
}

std::vector<std::string> split_blanks(const char *text)
{
	std::vector<std::string> out;
	std::istringstream in(text);
	for (std::string word; in >> word;)
		out.push_back(word);
	return out;
}

// The first CPU the caller may run on: the main lcore, so EAL's pinning of
// the calling thread (undone below) at least lands on an allowed CPU.
int first_allowed_cpu(const cpu_set_t &set)
{
	for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
		if (CPU_ISSET(cpu, &set))
			return cpu;
	return 0;
}

// EAL parses with getopt; the application may be using it too.
struct GetoptState {
	int ind = optind, err = opterr, opt = optopt;
	char *arg = optarg;
	~GetoptState()
	{
		optind = ind;
		opterr = err;
		optopt = opt;
		optarg = arg;
	}
};

// Run rte_eal_init on a private argv; restore the caller's affinity after.
// Returns rte_errno (or EINVAL when EAL left it 0) on failure.
int run_eal_init(const std::vector<std::string> &args)
{
	std::vector<std::string> storage;
	storage.reserve(args.size() + 1);
	storage.emplace_back("libtap");
	storage.insert(storage.end(), args.begin(), args.end());
	std::vector<char *> argv;
	for (auto &s : storage)
		argv.push_back(s.data());
	argv.push_back(nullptr);

	cpu_set_t saved;
	const bool have_affinity = pthread_getaffinity_np(pthread_self(), sizeof saved, &saved) == 0;
	int rc;
	{
		GetoptState keep;
		optind = 1;
		rc = rte_eal_init(static_cast<int>(storage.size()), argv.data());
	}
	const int err = rc < 0 ? (rte_errno ? rte_errno : EINVAL) : 0;
	// rte_eal_init pins the calling thread to the main lcore's CPU; every
	// thread the caller starts later would inherit that.
	if (have_affinity)
		pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
	return err;
}

} // namespace

std::mutex &control_mutex()
{
	static std::mutex *m = new std::mutex; // never destroyed: Devices may close during exit
	return *m;
}

bool looks_like_pci(std::string_view s) noexcept
{
	// [DDDD:]BB:DD.F, hex digits, then the end or a devargs comma.
	const auto end = s.find(',');
	std::string_view addr = s.substr(0, end);
	auto hex = [](std::string_view part, std::size_t n) {
		if (part.size() != n)
			return false;
		for (char c : part)
			if (!std::isxdigit(static_cast<unsigned char>(c)))
				return false;
		return true;
	};
	if (std::count(addr.begin(), addr.end(), ':') == 2) {
		if (!hex(addr.substr(0, 4), 4) || addr.size() < 5 || addr[4] != ':')
			return false;
		addr.remove_prefix(5);
	}
	return addr.size() == 7 && hex(addr.substr(0, 2), 2) && addr[2] == ':' &&
	       hex(addr.substr(3, 2), 2) && addr[5] == '.' && addr[6] >= '0' && addr[6] <= '7';
}

std::vector<std::string> default_eal_args(std::string_view first_devargs)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (pthread_getaffinity_np(pthread_self(), sizeof set, &set) != 0)
		CPU_SET(0, &set);
	std::vector<std::string> args = {
		"-l", std::to_string(first_allowed_cpu(set)),
		// No hugepages needed (slower DMA mapping, fine for capture); no
		// shared config, so several processes can run and nothing stays
		// in /var/run/dpdk; no telemetry socket or thread.
		"--no-huge", "-m", "256", "--no-shconf", "--no-telemetry", "--iova-mode=va",
		"--log-level=*:warning"};
	if (looks_like_pci(first_devargs)) {
		args.emplace_back("-a");
		args.emplace_back(first_devargs.substr(0, first_devargs.find(',')));
	} else {
		args.emplace_back("--no-pci");
	}
	return args;
}

bool eal_running() noexcept { return state().running; }

Result<void> ensure_eal(const std::vector<std::string> &explicit_args, std::string_view first_devargs,
			const std::string &name)
{
	EalState &s = state();
	if (s.failed)
		return std::unexpected(Error{s.failed->code, name + ": " + s.failed->context});
	if (s.running) {
		if (explicit_args.empty() || (!s.by_application && explicit_args == s.args))
			return {};
		// Let EAL say it too ("already called initialization").
		const std::size_t mark = log_mark();
		{
			GetoptState keep;
			std::vector<std::string> storage = {"libtap"};
			storage.insert(storage.end(), explicit_args.begin(), explicit_args.end());
			std::vector<char *> argv;
			for (auto &a : storage)
				argv.push_back(a.data());
			argv.push_back(nullptr);
			optind = 1;
			rte_eal_init(static_cast<int>(storage.size()), argv.data());
		}
		const std::string running = s.by_application ? std::string("arguments the application gave")
							     : "\"" + join(s.args) + "\"";
		return fail_logged(EALREADY,
				   name + ": the DPDK EAL already runs in this process with " + running +
					   "; Options::dpdk_eal_args asks for \"" + join(explicit_args) +
					   "\" (one EAL per process, it cannot restart)",
				   mark);
	}

	std::vector<std::string> args = explicit_args;
	if (args.empty()) {
		if (const char *env = std::getenv("LIBTAP_DPDK_EAL_ARGS"); env && *env)
			args = split_blanks(env);
		else
			args = default_eal_args(first_devargs);
	}
	static FILE *stream = open_log_stream();
	if (stream)
		rte_openlog_stream(stream);
	const std::size_t mark = log_mark();
	const int err = run_eal_init(args);
	if (err == EALREADY) { // the application started it before us
		s.running = true;
		s.by_application = true;
		return {};
	}
	if (err) {
		auto e = fail_logged(err, "rte_eal_init(\"" + join(args) + "\")", mark);
		s.failed = e.error();
		return std::unexpected(Error{e.error().code, name + ": " + e.error().context});
	}
	s.running = true;
	s.args = std::move(args);
	return {};
}

std::size_t log_mark()
{
	LogBuffer &b = log_buffer();
	std::lock_guard lock(b.mutex);
	return b.total;
}

std::string log_since(std::size_t mark)
{
	LogBuffer &b = log_buffer();
	std::lock_guard lock(b.mutex);
	const std::size_t kept_from = b.total - b.text.size();
	std::string out = b.text.substr(mark > kept_from ? mark - kept_from : 0);
	// One line for an error message: newlines become "; ".
	while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
		out.pop_back();
	for (std::size_t i = 0; (i = out.find('\n', i)) != std::string::npos;)
		out.replace(i, 1, "; ");
	return out;
}

std::unexpected<Error> fail_logged(int err, std::string context, std::size_t mark)
{
	std::string logged = log_since(mark);
	if (!logged.empty())
		context += " [DPDK: " + logged + "]";
	return fail_errno(err, std::move(context));
}

namespace {

void register_thread_slow() noexcept
{
	thread_local struct Registration {
		bool registered = false;
		~Registration()
		{
			if (registered)
				rte_thread_unregister();
		}
	} reg;
	if (reg.registered || rte_lcore_id() != LCORE_ID_ANY)
		return;
	reg.registered = rte_thread_register() == 0;
}

} // namespace

void register_thread() noexcept
{
	// Called on every read: a plain initial-exec flag, one %fs load,
	// instead of two __tls_get_addr calls (the guarded Registration and
	// the EAL's lcore id). A failed registration is retried on the next call.
	[[gnu::tls_model("initial-exec")]] thread_local bool done = false;
	if (done) [[likely]]
		return;
	register_thread_slow();
	done = rte_lcore_id() != LCORE_ID_ANY;
}

} // namespace tap::dpdk
