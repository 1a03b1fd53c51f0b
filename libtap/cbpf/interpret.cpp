// Interpreter. Semantics follow libpcap's bpf_filter() (see
// docs/REFERENCE.md §1): loads outside the captured bytes end
// the program with 0, X = 0 division/modulo returns 0, shifts by X >= 32
// give 0, BPF_LEN is the wire length, indexed offsets are unsigned and
// checked without wrap-around, scratch memory starts at zero.
//
// Dispatch is "threaded" with GCC/Clang computed goto: each handler ends
// in its own indirect jump, which predicts better than one shared switch.
#include <tap/cbpf/interpret.hpp>
#include <tap/cbpf/validate.hpp>

#include <array>
#include <cassert>
#include <cstring>
#include <limits>

namespace tap::cbpf {
namespace {

// X(handler name, opcode). The order defines the handler numbers.
#define CBPF_HANDLERS(X)                              \
	X(ld_w_abs, BPF_LD | BPF_W | BPF_ABS)         \
	X(ld_h_abs, BPF_LD | BPF_H | BPF_ABS)         \
	X(ld_b_abs, BPF_LD | BPF_B | BPF_ABS)         \
	X(ld_w_ind, BPF_LD | BPF_W | BPF_IND)         \
	X(ld_h_ind, BPF_LD | BPF_H | BPF_IND)         \
	X(ld_b_ind, BPF_LD | BPF_B | BPF_IND)         \
	X(ld_len, BPF_LD | BPF_W | BPF_LEN)           \
	X(ld_imm, BPF_LD | BPF_IMM)                   \
	X(ld_mem, BPF_LD | BPF_MEM)                   \
	X(ldx_imm, BPF_LDX | BPF_W | BPF_IMM)         \
	X(ldx_mem, BPF_LDX | BPF_W | BPF_MEM)         \
	X(ldx_len, BPF_LDX | BPF_W | BPF_LEN)         \
	X(ldx_msh, BPF_LDX | BPF_B | BPF_MSH)         \
	X(st, BPF_ST)                                 \
	X(stx, BPF_STX)                               \
	X(add_k, BPF_ALU | BPF_ADD | BPF_K)           \
	X(add_x, BPF_ALU | BPF_ADD | BPF_X)           \
	X(sub_k, BPF_ALU | BPF_SUB | BPF_K)           \
	X(sub_x, BPF_ALU | BPF_SUB | BPF_X)           \
	X(mul_k, BPF_ALU | BPF_MUL | BPF_K)           \
	X(mul_x, BPF_ALU | BPF_MUL | BPF_X)           \
	X(div_k, BPF_ALU | BPF_DIV | BPF_K)           \
	X(div_x, BPF_ALU | BPF_DIV | BPF_X)           \
	X(mod_k, BPF_ALU | BPF_MOD | BPF_K)           \
	X(mod_x, BPF_ALU | BPF_MOD | BPF_X)           \
	X(and_k, BPF_ALU | BPF_AND | BPF_K)           \
	X(and_x, BPF_ALU | BPF_AND | BPF_X)           \
	X(or_k, BPF_ALU | BPF_OR | BPF_K)             \
	X(or_x, BPF_ALU | BPF_OR | BPF_X)             \
	X(xor_k, BPF_ALU | BPF_XOR | BPF_K)           \
	X(xor_x, BPF_ALU | BPF_XOR | BPF_X)           \
	X(lsh_k, BPF_ALU | BPF_LSH | BPF_K)           \
	X(lsh_x, BPF_ALU | BPF_LSH | BPF_X)           \
	X(rsh_k, BPF_ALU | BPF_RSH | BPF_K)           \
	X(rsh_x, BPF_ALU | BPF_RSH | BPF_X)           \
	X(neg, BPF_ALU | BPF_NEG)                     \
	X(ja, BPF_JMP | BPF_JA)                       \
	X(jeq_k, BPF_JMP | BPF_JEQ | BPF_K)           \
	X(jeq_x, BPF_JMP | BPF_JEQ | BPF_X)           \
	X(jgt_k, BPF_JMP | BPF_JGT | BPF_K)           \
	X(jgt_x, BPF_JMP | BPF_JGT | BPF_X)           \
	X(jge_k, BPF_JMP | BPF_JGE | BPF_K)           \
	X(jge_x, BPF_JMP | BPF_JGE | BPF_X)           \
	X(jset_k, BPF_JMP | BPF_JSET | BPF_K)         \
	X(jset_x, BPF_JMP | BPF_JSET | BPF_X)         \
	X(ret_k, BPF_RET | BPF_K)                     \
	X(ret_a, BPF_RET | BPF_A)                     \
	X(tax, BPF_MISC | BPF_TAX)                    \
	X(txa, BPF_MISC | BPF_TXA)

enum Handler : std::uint8_t {
#define CBPF_ENUM(name, code) h_##name,
	CBPF_HANDLERS(CBPF_ENUM)
#undef CBPF_ENUM
	handler_count
};

constexpr std::uint8_t no_handler = 0xff;

constexpr std::array<std::uint8_t, 256> make_handler_table()
{
	std::array<std::uint8_t, 256> table{};
	table.fill(no_handler);
#define CBPF_MAP(name, code) table[code] = h_##name;
	CBPF_HANDLERS(CBPF_MAP)
#undef CBPF_MAP
	return table;
}
constexpr auto handler_of = make_handler_table();

inline std::uint32_t load32(const std::uint8_t *p) noexcept
{
	std::uint32_t v;
	std::memcpy(&v, p, 4);
	return __builtin_bswap32(v);
}

inline std::uint32_t load16(const std::uint8_t *p) noexcept
{
	std::uint16_t v;
	std::memcpy(&v, p, 2);
	return __builtin_bswap16(v);
}

template <bool Count>
std::uint32_t execute(const Interpreter::Op *ops, const std::uint8_t *p, std::uint32_t buflen,
		      std::uint32_t wirelen, bool zero_scratch, std::uint64_t *hits) noexcept
{
	static const void *const dispatch[] = {
#define CBPF_LABEL(name, code) &&do_##name,
		CBPF_HANDLERS(CBPF_LABEL)
#undef CBPF_LABEL
	};
	std::uint32_t A = 0, X = 0;
	// Scratch starts at zero; only programs that may read a slot before
	// writing it can tell (see scratch_read_before_write), so only they
	// pay for clearing it.
	std::uint32_t mem[BPF_MEMWORDS];
	if (zero_scratch)
		std::memset(mem, 0, sizeof mem);
	const Interpreter::Op *pc = ops;

#define DISPATCH()                                   \
	do {                                         \
		if constexpr (Count)                 \
			++hits[pc - ops];            \
		goto *dispatch[pc->handler];         \
	} while (0)
#define NEXT()         \
	do {           \
		++pc;  \
		DISPATCH(); \
	} while (0)
#define JUMP(cond)                                   \
	do {                                         \
		pc += 1 + ((cond) ? pc->jt : pc->jf); \
		DISPATCH();                          \
	} while (0)

	DISPATCH();

	// Absolute loads: k and size compared without forming k + size.
do_ld_w_abs:
	if (pc->k > buflen || 4 > buflen - pc->k)
		return 0;
	A = load32(p + pc->k);
	NEXT();
do_ld_h_abs:
	if (pc->k > buflen || 2 > buflen - pc->k)
		return 0;
	A = load16(p + pc->k);
	NEXT();
do_ld_b_abs:
	if (pc->k >= buflen)
		return 0;
	A = p[pc->k];
	NEXT();
	// Indexed loads: X + k + size <= buflen in 64 bits, which equals
	// libpcap's three unsigned checks (any k >= buflen fails even if X + k
	// would wrap back into range).
do_ld_w_ind: {
	const std::uint64_t end = std::uint64_t{X} + pc->k + 4;
	if (end > buflen)
		return 0;
	A = load32(p + (end - 4));
	NEXT();
}
do_ld_h_ind: {
	const std::uint64_t end = std::uint64_t{X} + pc->k + 2;
	if (end > buflen)
		return 0;
	A = load16(p + (end - 2));
	NEXT();
}
do_ld_b_ind: {
	const std::uint64_t end = std::uint64_t{X} + pc->k + 1;
	if (end > buflen)
		return 0;
	A = p[end - 1];
	NEXT();
}
do_ld_len:
	A = wirelen;
	NEXT();
do_ld_imm:
	A = pc->k;
	NEXT();
do_ld_mem:
	A = mem[pc->k];
	NEXT();
do_ldx_imm:
	X = pc->k;
	NEXT();
do_ldx_mem:
	X = mem[pc->k];
	NEXT();
do_ldx_len:
	X = wirelen;
	NEXT();
do_ldx_msh:
	if (pc->k >= buflen)
		return 0;
	X = (p[pc->k] & 0xfu) << 2;
	NEXT();
do_st:
	mem[pc->k] = A;
	NEXT();
do_stx:
	mem[pc->k] = X;
	NEXT();
do_add_k:
	A += pc->k;
	NEXT();
do_add_x:
	A += X;
	NEXT();
do_sub_k:
	A -= pc->k;
	NEXT();
do_sub_x:
	A -= X;
	NEXT();
do_mul_k:
	A *= pc->k;
	NEXT();
do_mul_x:
	A *= X;
	NEXT();
do_div_k: // k != 0: validated
	A /= pc->k;
	NEXT();
do_div_x:
	if (X == 0)
		return 0;
	A /= X;
	NEXT();
do_mod_k:
	A %= pc->k;
	NEXT();
do_mod_x:
	if (X == 0)
		return 0;
	A %= X;
	NEXT();
do_and_k:
	A &= pc->k;
	NEXT();
do_and_x:
	A &= X;
	NEXT();
do_or_k:
	A |= pc->k;
	NEXT();
do_or_x:
	A |= X;
	NEXT();
do_xor_k:
	A ^= pc->k;
	NEXT();
do_xor_x:
	A ^= X;
	NEXT();
do_lsh_k: // k < 32: validated
	A <<= pc->k;
	NEXT();
do_lsh_x:
	A = X < 32 ? A << X : 0;
	NEXT();
do_rsh_k:
	A >>= pc->k;
	NEXT();
do_rsh_x:
	A = X < 32 ? A >> X : 0;
	NEXT();
do_neg:
	A = 0u - A;
	NEXT();
do_ja:
	pc += 1 + pc->k;
	DISPATCH();
do_jeq_k:
	JUMP(A == pc->k);
do_jeq_x:
	JUMP(A == X);
do_jgt_k:
	JUMP(A > pc->k);
do_jgt_x:
	JUMP(A > X);
do_jge_k:
	JUMP(A >= pc->k);
do_jge_x:
	JUMP(A >= X);
do_jset_k:
	JUMP((A & pc->k) != 0);
do_jset_x:
	JUMP((A & X) != 0);
do_ret_k:
	return pc->k;
do_ret_a:
	return A;
do_tax:
	X = A;
	NEXT();
do_txa:
	A = X;
	NEXT();

#undef DISPATCH
#undef NEXT
#undef JUMP
}

std::uint32_t clamp_length(std::size_t n) noexcept
{
	constexpr std::size_t max = std::numeric_limits<std::uint32_t>::max();
	return static_cast<std::uint32_t>(n < max ? n : max);
}

} // namespace

Interpreter::Interpreter(std::span<const bpf_insn> validated)
	: zero_scratch_(scratch_read_before_write(validated) != 0)
{
	ops_.reserve(validated.size());
	for (const bpf_insn &insn : validated) {
		const std::uint8_t handler = insn.code < 256 ? handler_of[insn.code] : no_handler;
		assert(handler != no_handler && "program was not validated");
		ops_.push_back(Op{handler, insn.jt, insn.jf, 0, insn.k});
	}
}

std::uint32_t Interpreter::run(std::span<const std::uint8_t> bytes,
			       std::uint32_t wire_len) const noexcept
{
	return execute<false>(ops_.data(), bytes.data(), clamp_length(bytes.size()), wire_len,
			      zero_scratch_, nullptr);
}

std::uint32_t Interpreter::run_counting(std::span<const std::uint8_t> bytes, std::uint32_t wire_len,
					std::span<std::uint64_t> hits) const noexcept
{
	assert(hits.size() >= ops_.size());
	return execute<true>(ops_.data(), bytes.data(), clamp_length(bytes.size()), wire_len,
			     zero_scratch_, hits.data());
}

} // namespace tap::cbpf
