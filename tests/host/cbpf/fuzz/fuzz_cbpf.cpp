// libFuzzer differential target: random programs and packets through the
// validator, the interpreter, the JIT and libpcap 1.10.3. Built with clang
// (see CMakeLists.txt). It aborts, so libFuzzer saves the input, when:
//   - our validator accepts a program libpcap's bpf_validate() rejects
//     (ours must be stricter);
//   - interpreter and JIT disagree on an accepted program;
//   - libpcap's bpf_filter() disagrees with them (skipped when the program
//     reads scratch memory before writing it: libpcap 1.10.3 then reads
//     its uninitialised stack).
#include <tap/cbpf/disassemble.hpp>
#include <tap/cbpf/interpret.hpp>
#include <tap/cbpf/jit.hpp>
#include <tap/cbpf/libpcap_filter.hpp>
#include <tap/cbpf/validate.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

extern "C" int bpf_validate(const struct bpf_insn *, int);

namespace {

using namespace tap::cbpf;

// The 49 valid codes, so most inputs decode into plausible programs.
constexpr std::array<std::uint16_t, 49> codes = {
	0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0x80, 0x00, 0x60, 0x01, 0x61, 0x81, 0xb1, 0x02, 0x03,
	0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x94, 0x9c, 0x54, 0x5c, 0x44, 0x4c, 0xa4,
	0xac, 0x64, 0x6c, 0x74, 0x7c, 0x84, 0x05, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x4d,
	0x06, 0x16, 0x07, 0x87,
};

std::uint32_t interesting_k(std::uint32_t raw, std::size_t caplen)
{
	switch (raw >> 29) { // top 3 bits pick a family of constants
	case 0: return raw & 0x3f;                       // small offsets, shifts, slots
	case 1: return static_cast<std::uint32_t>(caplen) - (raw & 7); // near the end
	case 2: return 0xffffffffu - (raw & 7);          // near 2^32
	case 3: return 0x80000000u + (raw & 7) - 4;      // around 2^31
	default: return raw;
	}
}

struct Input {
	std::vector<std::uint8_t> packet;
	std::uint32_t wire_len;
	std::vector<bpf_insn> program;
};

Input decode(const std::uint8_t *data, std::size_t size)
{
	Input in;
	if (size < 2)
		return in;
	const std::size_t caplen = std::min<std::size_t>(data[0], size - 2);
	const std::uint32_t extra = data[1];
	data += 2, size -= 2;
	in.packet.assign(data, data + caplen);
	in.wire_len = static_cast<std::uint32_t>(caplen + extra);
	data += caplen, size -= caplen;
	const std::size_t n = std::min<std::size_t>(size / 8, BPF_MAXINSNS - 1);
	for (std::size_t i = 0; i < n; ++i, data += 8) {
		std::uint16_t code;
		std::uint32_t k;
		std::memcpy(&code, data, 2);
		std::memcpy(&k, data + 4, 4);
		bpf_insn insn{};
		const std::size_t remaining = n - i; // instructions after this one, counting the final RET
		if (code & 0x8000) { // raw: exercises the validator's rejections
			insn = bpf_insn{static_cast<std::uint16_t>(code & 0x1ff), data[2], data[3], k};
		} else {
			insn.code = codes[code % codes.size()];
			insn.jt = static_cast<std::uint8_t>(data[2] % std::min<std::size_t>(remaining, 256));
			insn.jf = static_cast<std::uint8_t>(data[3] % std::min<std::size_t>(remaining, 256));
			insn.k = interesting_k(k, caplen);
			if (insn.code == (BPF_JMP | BPF_JA))
				insn.k = k % remaining;
			if (BPF_CLASS(insn.code) == BPF_ALU && (insn.k == 0) &&
			    (BPF_OP(insn.code) == BPF_DIV || BPF_OP(insn.code) == BPF_MOD))
				insn.k = 1 + (k & 3);
		}
		in.program.push_back(insn);
	}
	in.program.push_back(bpf_insn{BPF_RET | BPF_A, 0, 0, 0});
	return in;
}

[[noreturn]] void report(const char *what, const Input &in, std::uint32_t a, std::uint32_t b)
{
	std::fprintf(stderr, "%s: %u vs %u (caplen %zu, wire %u)\n", what, a, b, in.packet.size(), in.wire_len);
	for (std::size_t i = 0; i < in.program.size(); ++i)
		std::fprintf(stderr, "  %s\n", disassemble(in.program[i], i).c_str());
	std::abort();
}

} // namespace

namespace {

// How much of the input reaches the differential part, printed now and then.
struct Stats {
	std::uint64_t inputs = 0, valid = 0, with_libpcap = 0;
	void tick()
	{
		if ((++inputs & 0x3ffff) == 0)
			std::fprintf(stderr, "cbpf: %llu inputs, %llu valid programs, %llu also compared with libpcap\n",
				     (unsigned long long)inputs, (unsigned long long)valid,
				     (unsigned long long)with_libpcap);
	}
} stats;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	stats.tick();
	const Input in = decode(data, size);
	if (in.program.empty())
		return 0;
	if (!validate(in.program))
		return 0;
	++stats.valid;
	if (!bpf_validate(in.program.data(), static_cast<int>(in.program.size())))
		report("accepted here, rejected by libpcap's bpf_validate", in, 1, 0);

	const Interpreter interp(in.program);
	const std::uint32_t a = interp.run(in.packet, in.wire_len);
	static const bool have_jit = JitCode::supported();
	if (have_jit) {
		auto jit = JitCode::compile(in.program);
		if (!jit)
			report("JIT failed to compile a valid program", in, 0, 0);
		const std::uint32_t b = jit->function()(in.packet.data(),
							static_cast<std::uint32_t>(in.packet.size()), in.wire_len);
		if (a != b)
			report("interpreter vs JIT", in, a, b);
	}
	if (scratch_read_before_write(in.program) == 0) {
		++stats.with_libpcap;
		const std::uint32_t c = bpf_filter(in.program.data(), in.packet.data(), in.wire_len,
						   static_cast<unsigned>(in.packet.size()));
		if (a != c)
			report("interpreter vs libpcap", in, a, c);
	}
	return 0;
}
