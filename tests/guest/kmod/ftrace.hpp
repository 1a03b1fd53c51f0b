// Counts calls of kernel functions made in this thread's context (system
// calls and the softirqs they run), with ftrace's function tracer: for tests
// of what a call costs (locks taken, grace periods waited for) that must not
// measure time.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace testnet {

class FunctionCounter {
public:
	explicit FunctionCounter(std::vector<std::string> functions);
	~FunctionCounter();
	FunctionCounter(const FunctionCounter &) = delete;
	FunctionCounter &operator=(const FunctionCounter &) = delete;
	// Calls of each function since construction (or the last reset).
	std::map<std::string, unsigned> counts() const;
	void reset() const;

private:
	std::vector<std::string> functions_;
};

} // namespace testnet
