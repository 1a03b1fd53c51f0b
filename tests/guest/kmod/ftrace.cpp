// Kernel function-call counts through ftrace (see ftrace.hpp).
#include "ftrace.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace testnet {

namespace {

const std::string kTracing = "/sys/kernel/tracing";

void put(const std::string &file, const std::string &value)
{
	std::ofstream out(kTracing + "/" + file);
	out << value << "\n";
	out.flush();
	if (!out)
		throw std::runtime_error("ftrace: cannot write " + file);
}

} // namespace

FunctionCounter::FunctionCounter(std::vector<std::string> functions) : functions_(std::move(functions))
{
	struct stat st;
	if (::stat((kTracing + "/trace").c_str(), &st) != 0 &&
	    ::mount("nodev", kTracing.c_str(), "tracefs", 0, nullptr) != 0)
		throw std::runtime_error("ftrace: cannot mount tracefs");
	put("current_tracer", "nop");
	std::string filter;
	for (const auto &f : functions_)
		filter += f + " ";
	put("set_ftrace_filter", filter);
	put("set_ftrace_pid", std::to_string(::syscall(SYS_gettid)));
	put("trace", "");
	put("current_tracer", "function");
	put("tracing_on", "1");
}

FunctionCounter::~FunctionCounter()
{
	try {
		put("current_tracer", "nop");
		put("set_ftrace_pid", "");
		put("set_ftrace_filter", "");
		put("trace", "");
	} catch (const std::exception &) {
	}
}

void FunctionCounter::reset() const { put("trace", ""); }

std::map<std::string, unsigned> FunctionCounter::counts() const
{
	std::map<std::string, unsigned> n;
	for (const auto &f : functions_)
		n[f] = 0;
	std::ifstream in(kTracing + "/trace");
	std::string line;
	while (std::getline(in, line)) {
		if (line.empty() || line[0] == '#')
			continue;
		// "  task-123  [000] ..... 12.345678: rtnl_lock <-bpfdev_release"
		const auto colon = line.find(": ");
		if (colon == std::string::npos)
			continue;
		std::istringstream rest(line.substr(colon + 2));
		std::string fn;
		rest >> fn;
		if (n.count(fn))
			n[fn]++;
	}
	return n;
}

} // namespace testnet
