#include <tap/cbpf/disassemble.hpp>

#include <cstdio>

namespace tap::cbpf {
namespace {

std::string format(const char *fmt, auto... args)
{
	char buf[128];
	std::snprintf(buf, sizeof buf, fmt, args...);
	return buf;
}

const char *alu_name(std::uint16_t op)
{
	switch (op) {
	case BPF_ADD: return "add";
	case BPF_SUB: return "sub";
	case BPF_MUL: return "mul";
	case BPF_DIV: return "div";
	case BPF_MOD: return "mod";
	case BPF_AND: return "and";
	case BPF_OR: return "or";
	case BPF_XOR: return "xor";
	case BPF_LSH: return "lsh";
	case BPF_RSH: return "rsh";
	case BPF_NEG: return "neg";
	}
	return nullptr;
}

const char *jump_name(std::uint16_t op)
{
	switch (op) {
	case BPF_JEQ: return "jeq";
	case BPF_JGT: return "jgt";
	case BPF_JGE: return "jge";
	case BPF_JSET: return "jset";
	}
	return nullptr;
}

std::string operation(const bpf_insn &insn, std::size_t pc)
{
	const unsigned k = insn.k;
	const std::uint16_t code = insn.code;
	const char *size = BPF_SIZE(code) == BPF_W ? "" : BPF_SIZE(code) == BPF_H ? "h" : "b";
	switch (code) {
	case BPF_RET | BPF_K: return format("ret #%u", k);
	case BPF_RET | BPF_A: return "ret a";
	case BPF_LD | BPF_W | BPF_LEN: return "ld #pktlen";
	case BPF_LDX | BPF_W | BPF_LEN: return "ldx #pktlen";
	case BPF_LD | BPF_IMM: return format("ld #0x%x", k);
	case BPF_LDX | BPF_W | BPF_IMM: return format("ldx #0x%x", k);
	case BPF_LD | BPF_MEM: return format("ld M[%u]", k);
	case BPF_LDX | BPF_W | BPF_MEM: return format("ldx M[%u]", k);
	case BPF_LDX | BPF_B | BPF_MSH: return format("ldxb 4*([%u]&0xf)", k);
	case BPF_ST: return format("st M[%u]", k);
	case BPF_STX: return format("stx M[%u]", k);
	case BPF_ALU | BPF_NEG: return "neg";
	case BPF_MISC | BPF_TAX: return "tax";
	case BPF_MISC | BPF_TXA: return "txa";
	case BPF_JMP | BPF_JA: return format("ja %zu", pc + 1 + k);
	default: break;
	}
	if (BPF_CLASS(code) == BPF_LD && BPF_MODE(code) == BPF_ABS)
		return format("ld%s [%u]", size, k);
	if (BPF_CLASS(code) == BPF_LD && BPF_MODE(code) == BPF_IND)
		return format("ld%s [x + %u]", size, k);
	if (BPF_CLASS(code) == BPF_ALU && alu_name(BPF_OP(code)))
		return BPF_SRC(code) == BPF_X ? format("%s x", alu_name(BPF_OP(code)))
					      : format("%s #0x%x", alu_name(BPF_OP(code)), k);
	if (BPF_CLASS(code) == BPF_JMP && jump_name(BPF_OP(code))) {
		const std::size_t t = pc + 1 + insn.jt, f = pc + 1 + insn.jf;
		return BPF_SRC(code) == BPF_X
			       ? format("%s x jt %zu jf %zu", jump_name(BPF_OP(code)), t, f)
			       : format("%s #0x%x jt %zu jf %zu", jump_name(BPF_OP(code)), k, t, f);
	}
	return format("unimp 0x%x", static_cast<unsigned>(code));
}

} // namespace

std::string disassemble(const bpf_insn &insn, std::size_t pc)
{
	return format("(%03zu) ", pc) + operation(insn, pc);
}

} // namespace tap::cbpf
