// What bench_dpdk and bench_dpdk_group both need: the CPUs this process
// may use, pinning the calling thread to one, the median of the runs, and
// the first line of a /proc file.
#pragma once

#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace bench {

// The CPUs in this process's affinity mask, lowest first (as it started).
inline std::vector<int> allowed_cpus()
{
	cpu_set_t set;
	CPU_ZERO(&set);
	std::vector<int> cpus;
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		for (int c = 0; c < CPU_SETSIZE; ++c)
			if (CPU_ISSET(c, &set))
				cpus.push_back(c);
	return cpus;
}

// Pin the calling thread (only it) to one CPU; false if the kernel refused.
inline bool pin_to(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof set, &set) == 0;
}

// The middle value; of an even count, the mean of the two middle ones.
inline double median(std::vector<double> v)
{
	if (v.empty())
		return 0;
	std::sort(v.begin(), v.end());
	const std::size_t n = v.size();
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The first line of a (/proc) file, without its newline; "" if unreadable.
inline std::string first_line(const std::string &path)
{
	char buf[256] = {};
	if (FILE *f = std::fopen(path.c_str(), "r")) {
		if (!std::fgets(buf, sizeof buf, f))
			buf[0] = 0;
		std::fclose(f);
	}
	std::string line(buf);
	while (!line.empty() && line.back() == '\n')
		line.pop_back();
	return line;
}

} // namespace bench
