// What libtap's core calls of the DPDK backend: open a "dpdk:" string
// (without the prefix) and list what can be opened. Nothing here names DPDK.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backend.hpp"

namespace tap::detail {

Result<std::unique_ptr<Backend>> open_dpdk(std::string_view devargs, const Options &options,
					   const std::string &name);
std::vector<DeviceEntry> list_dpdk();

} // namespace tap::detail
