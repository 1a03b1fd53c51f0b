// One line of text per instruction, in tcpdump -d's notation ("ldh [12]",
// "jeq #0x800 jt 2 jf 5"), for tools and error messages.
#pragma once

#include <net/bpf.h>

#include <cstddef>
#include <string>

namespace tap::cbpf {

std::string disassemble(const bpf_insn &insn, std::size_t pc);

} // namespace tap::cbpf
