// The validator. Each rule below says what libpcap's bpf_validate() does
// with the same input, because "stricter than libpcap" is the contract:
// every program accepted here is accepted there, not the other way round.
#include <tap/cbpf/validate.hpp>

#include <array>
#include <cstdio>
#include <optional>
#include <vector>

namespace tap::cbpf {
namespace {

// Rule unknown_opcode: exactly the 49 codes libpcap's interpreter has a case
// for (the same set as Linux's chk_code_allowed). bpf_validate() only looks at
// class and mode, so it passes codes the interpreter then abort()s on:
// RET|X, NEG|X, LDX|W|ABS, LD|H|LEN, MISC 0x10, size bits 0x18, bits > 0xff.
constexpr std::array<std::uint16_t, 49> allowed_codes = {
	BPF_LD | BPF_W | BPF_ABS, BPF_LD | BPF_H | BPF_ABS, BPF_LD | BPF_B | BPF_ABS,
	BPF_LD | BPF_W | BPF_IND, BPF_LD | BPF_H | BPF_IND, BPF_LD | BPF_B | BPF_IND,
	BPF_LD | BPF_W | BPF_LEN, BPF_LD | BPF_IMM, BPF_LD | BPF_MEM,
	BPF_LDX | BPF_W | BPF_IMM, BPF_LDX | BPF_W | BPF_MEM, BPF_LDX | BPF_W | BPF_LEN,
	BPF_LDX | BPF_B | BPF_MSH,
	BPF_ST, BPF_STX,
	BPF_ALU | BPF_ADD | BPF_K, BPF_ALU | BPF_ADD | BPF_X,
	BPF_ALU | BPF_SUB | BPF_K, BPF_ALU | BPF_SUB | BPF_X,
	BPF_ALU | BPF_MUL | BPF_K, BPF_ALU | BPF_MUL | BPF_X,
	BPF_ALU | BPF_DIV | BPF_K, BPF_ALU | BPF_DIV | BPF_X,
	BPF_ALU | BPF_MOD | BPF_K, BPF_ALU | BPF_MOD | BPF_X,
	BPF_ALU | BPF_AND | BPF_K, BPF_ALU | BPF_AND | BPF_X,
	BPF_ALU | BPF_OR | BPF_K, BPF_ALU | BPF_OR | BPF_X,
	BPF_ALU | BPF_XOR | BPF_K, BPF_ALU | BPF_XOR | BPF_X,
	BPF_ALU | BPF_LSH | BPF_K, BPF_ALU | BPF_LSH | BPF_X,
	BPF_ALU | BPF_RSH | BPF_K, BPF_ALU | BPF_RSH | BPF_X,
	BPF_ALU | BPF_NEG,
	BPF_JMP | BPF_JA,
	BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP | BPF_JEQ | BPF_X,
	BPF_JMP | BPF_JGT | BPF_K, BPF_JMP | BPF_JGT | BPF_X,
	BPF_JMP | BPF_JGE | BPF_K, BPF_JMP | BPF_JGE | BPF_X,
	BPF_JMP | BPF_JSET | BPF_K, BPF_JMP | BPF_JSET | BPF_X,
	BPF_RET | BPF_K, BPF_RET | BPF_A,
	BPF_MISC | BPF_TAX, BPF_MISC | BPF_TXA,
};

constexpr std::array<bool, 256> make_allowed_table()
{
	std::array<bool, 256> table{};
	for (auto code : allowed_codes)
		table[code] = true;
	return table;
}
constexpr auto allowed_table = make_allowed_table();

bool is_allowed(std::uint16_t code) noexcept
{
	return code < allowed_table.size() && allowed_table[code];
}

bool reads_scratch(std::uint16_t code) noexcept
{
	return code == (BPF_LD | BPF_MEM) || code == (BPF_LDX | BPF_W | BPF_MEM);
}

bool writes_scratch(std::uint16_t code) noexcept
{
	return code == BPF_ST || code == BPF_STX;
}

std::unexpected<ValidationError> fail(std::size_t index, Rule rule, const bpf_insn &insn)
{
	return std::unexpected(ValidationError{static_cast<std::uint32_t>(index), rule, insn});
}

// Per-instruction checks that need no flow information: the broken rule,
// or nothing.
std::optional<Rule> check_one(std::span<const bpf_insn> program, std::size_t pc) noexcept
{
	const bpf_insn &insn = program[pc];
	const std::uint16_t code = insn.code;
	if (!is_allowed(code))
		return Rule::unknown_opcode;
	switch (BPF_CLASS(code)) {
	case BPF_LD:
	case BPF_LDX:
	case BPF_ST:
	case BPF_STX:
		// Rule scratch_out_of_range: same as libpcap.
		if ((BPF_CLASS(code) >= BPF_ST || BPF_MODE(code) == BPF_MEM) && insn.k >= BPF_MEMWORDS)
			return Rule::scratch_out_of_range;
		break;
	case BPF_ALU:
		// Rule divide_by_zero: same as libpcap (its interpreter would SIGFPE).
		if ((BPF_OP(code) == BPF_DIV || BPF_OP(code) == BPF_MOD) && BPF_SRC(code) == BPF_K &&
		    insn.k == 0)
			return Rule::divide_by_zero;
		// Rule shift_too_large: libpcap passes it and then shifts a 32-bit
		// value by >= 32 in C, which is undefined (x86 gives k mod 32).
		if ((BPF_OP(code) == BPF_LSH || BPF_OP(code) == BPF_RSH) && BPF_SRC(code) == BPF_K &&
		    insn.k >= 32)
			return Rule::shift_too_large;
		break;
	case BPF_JMP: {
		// Rule jump_out_of_range: every target must be a later instruction
		// that exists. libpcap checks JA with unsigned wrap-around, so JA
		// k=0xffffffff (a jump to itself) passes there and loops forever;
		// here backward JA (protochain) is rejected, which also bounds the
		// run time by the program length.
		const std::uint64_t remaining = program.size() - pc - 1;
		if (BPF_OP(code) == BPF_JA) {
			if (insn.k >= remaining)
				return Rule::jump_out_of_range;
		} else if (insn.jt >= remaining || insn.jf >= remaining) {
			return Rule::jump_out_of_range;
		}
		break;
	}
	default:
		break;
	}
	return std::nullopt;
}

} // namespace

std::string_view describe(Rule rule) noexcept
{
	switch (rule) {
	case Rule::empty_program: return "program has no instructions";
	case Rule::too_long: return "program longer than BPF_MAXINSNS (4096) instructions";
	case Rule::unknown_opcode: return "unknown or unsupported opcode";
	case Rule::jump_out_of_range: return "jump target backwards or past the last instruction";
	case Rule::no_final_return: return "last instruction is not a return";
	case Rule::divide_by_zero: return "division or modulo by constant 0";
	case Rule::shift_too_large: return "shift by constant 32 or more";
	case Rule::scratch_out_of_range: return "scratch memory index out of range (>= 16)";
	}
	return "unknown rule";
}

std::string ValidationError::message() const
{
	char head[96];
	std::snprintf(head, sizeof head, "insn %u (code 0x%02x jt %u jf %u k 0x%x): ", index,
		      static_cast<unsigned>(insn.code), static_cast<unsigned>(insn.jt),
		      static_cast<unsigned>(insn.jf), static_cast<unsigned>(insn.k));
	return std::string(head) + std::string(describe(rule));
}

std::expected<void, ValidationError> validate(std::span<const bpf_insn> program) noexcept
{
	// Rules empty_program and too_long: libpcap accepts no empty program
	// either, but has no upper bound in userland.
	if (program.empty())
		return fail(0, Rule::empty_program, bpf_insn{});
	if (program.size() > BPF_MAXINSNS)
		return fail(BPF_MAXINSNS, Rule::too_long, program[BPF_MAXINSNS]);

	for (std::size_t pc = 0; pc < program.size(); ++pc) {
		if (auto broken = check_one(program, pc))
			return fail(pc, *broken, program[pc]);
	}
	// Rule no_final_return: same as libpcap. With forward-only jumps this
	// makes every path end in a RET.
	if (BPF_CLASS(program.back().code) != BPF_RET)
		return fail(program.size() - 1, Rule::no_final_return, program.back());

	return {};
}

std::uint16_t scratch_read_before_write(std::span<const bpf_insn> program) noexcept
{
	// The slots written on every path to an instruction, as a bit mask.
	// Jumps go forward only, so one pass in program order sees all
	// predecessors of an instruction before the instruction itself.
	constexpr std::uint32_t reached_bit = 1u << 16; // low 16 bits: slots written
	std::uint16_t unsafe = 0;
	std::vector<std::uint32_t> written(program.size(), 0);
	if (program.empty())
		return 0;
	written[0] = reached_bit;
	for (std::size_t pc = 0; pc < program.size(); ++pc) {
		const std::uint32_t in = written[pc];
		if (!(in & reached_bit))
			continue; // dead code never runs
		const bpf_insn &insn = program[pc];
		if (reads_scratch(insn.code) && insn.k < BPF_MEMWORDS && !(in & (1u << insn.k)))
			unsafe |= static_cast<std::uint16_t>(1u << insn.k);
		std::uint32_t out = in;
		if (writes_scratch(insn.code) && insn.k < BPF_MEMWORDS)
			out |= 1u << insn.k;
		auto flow_to = [&](std::size_t target) {
			if (target >= program.size())
				return;
			// Intersection over predecessors; the first one sets it.
			written[target] = (written[target] & reached_bit) ? (written[target] & out) : out;
		};
		const std::uint16_t cls = BPF_CLASS(insn.code);
		if (cls == BPF_RET)
			continue;
		if (cls == BPF_JMP) {
			if (BPF_OP(insn.code) == BPF_JA) {
				flow_to(pc + 1 + insn.k);
			} else {
				flow_to(pc + 1 + insn.jt);
				flow_to(pc + 1 + insn.jf);
			}
		} else {
			flow_to(pc + 1);
		}
	}
	return unsafe;
}

} // namespace tap::cbpf
