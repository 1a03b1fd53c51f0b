// Hand-written corner cases. Each program runs in the interpreter, the JIT
// and (when libpcap 1.10.3 can run it deterministically) libpcap's
// bpf_filter(); all must return the expected value.
#include <tap/cbpf/libpcap_filter.hpp>

#include <tap/cbpf/filter.hpp>

#include <gtest/gtest.h>

#include <array>
#include <thread>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace tap::cbpf;

namespace {

using Program = std::vector<bpf_insn>;
using Bytes = std::vector<std::uint8_t>;

bpf_insn stmt(std::uint16_t code, std::uint32_t k) { return bpf_insn{code, 0, 0, k}; }
bpf_insn jump(std::uint16_t code, std::uint32_t k, std::uint8_t jt, std::uint8_t jf)
{
	return bpf_insn{code, jt, jf, k};
}
const bpf_insn ret_a = stmt(BPF_RET | BPF_A, 0);
bpf_insn ret(std::uint32_t k) { return stmt(BPF_RET | BPF_K, k); }

// 0x00 0x01 ... 0x3f
Bytes counting(std::size_t n = 64)
{
	Bytes b(n);
	for (std::size_t i = 0; i < n; ++i)
		b[i] = static_cast<std::uint8_t>(i);
	return b;
}

// Runs everywhere and checks agreement; returns the common result.
std::uint32_t run(const Program &p, const Bytes &pkt, std::uint32_t wire = 0, bool with_libpcap = true)
{
	if (wire == 0)
		wire = static_cast<std::uint32_t>(pkt.size());
	auto interp = Filter::create(p, Engine::interpreter);
	auto jit = Filter::create(p, Engine::jit);
	EXPECT_TRUE(interp.has_value()) << (interp ? "" : interp.error().message());
	if (!interp || !jit)
		return 0xdeadbeef;
	if (JitCode::supported()) {
		EXPECT_EQ(jit->engine(), Engine::jit);
	}
	const std::uint32_t a = interp->run(pkt, wire);
	const std::uint32_t b = jit->run(pkt, wire);
	EXPECT_EQ(a, b) << "interpreter vs JIT";
	if (with_libpcap) {
		const std::uint32_t c =
			bpf_filter(p.data(), pkt.data(), wire, static_cast<unsigned>(pkt.size()));
		EXPECT_EQ(a, c) << "interpreter vs libpcap";
	}
	return a;
}

Rule rejected_by(const Program &p)
{
	auto r = validate(p);
	EXPECT_FALSE(r.has_value());
	return r ? Rule::empty_program : r.error().rule;
}

} // namespace

// ---- every opcode ---------------------------------------------------------

TEST(Opcodes, Loads)
{
	const Bytes pkt = counting();
	EXPECT_EQ(run({stmt(BPF_LD | BPF_W | BPF_ABS, 4), ret_a}, pkt), 0x04050607u);
	EXPECT_EQ(run({stmt(BPF_LD | BPF_H | BPF_ABS, 4), ret_a}, pkt), 0x0405u);
	EXPECT_EQ(run({stmt(BPF_LD | BPF_B | BPF_ABS, 4), ret_a}, pkt), 0x04u);
	EXPECT_EQ(run({stmt(BPF_LDX | BPF_W | BPF_IMM, 3), stmt(BPF_LD | BPF_W | BPF_IND, 4), ret_a}, pkt), 0x0708090au);
	EXPECT_EQ(run({stmt(BPF_LDX | BPF_W | BPF_IMM, 3), stmt(BPF_LD | BPF_H | BPF_IND, 4), ret_a}, pkt), 0x0708u);
	EXPECT_EQ(run({stmt(BPF_LDX | BPF_W | BPF_IMM, 3), stmt(BPF_LD | BPF_B | BPF_IND, 4), ret_a}, pkt), 0x07u);
	EXPECT_EQ(run({stmt(BPF_LD | BPF_W | BPF_LEN, 0), ret_a}, pkt, 1514), 1514u);
	EXPECT_EQ(run({stmt(BPF_LDX | BPF_W | BPF_LEN, 0), stmt(BPF_MISC | BPF_TXA, 0), ret_a}, pkt, 9000), 9000u);
	EXPECT_EQ(run({stmt(BPF_LD | BPF_IMM, 0xfeedface), ret_a}, pkt), 0xfeedfaceu);
	EXPECT_EQ(run({stmt(BPF_LDX | BPF_W | BPF_IMM, 0x1234), stmt(BPF_MISC | BPF_TXA, 0), ret_a}, pkt), 0x1234u);
	// MSH: 4 * (pkt[k] & 0xf); pkt[0x2e] = 0x2e -> 4 * 0xe = 56
	EXPECT_EQ(run({stmt(BPF_LDX | BPF_B | BPF_MSH, 0x2e), stmt(BPF_MISC | BPF_TXA, 0), ret_a}, pkt), 56u);
}

TEST(Opcodes, ScratchMemory)
{
	const Bytes pkt = counting();
	Program p;
	for (std::uint32_t i = 0; i < BPF_MEMWORDS; ++i) {
		p.push_back(stmt(BPF_LD | BPF_IMM, 100 + i));
		p.push_back(stmt(BPF_ST, i));
	}
	p.push_back(stmt(BPF_LDX | BPF_W | BPF_IMM, 7));
	p.push_back(stmt(BPF_STX, 15));
	p.push_back(stmt(BPF_LD | BPF_MEM, 3));    // 103
	p.push_back(stmt(BPF_LDX | BPF_W | BPF_MEM, 15)); // 7
	p.push_back(stmt(BPF_ALU | BPF_ADD | BPF_X, 0));
	p.push_back(ret_a);
	EXPECT_EQ(run(p, pkt), 110u);
	// Never written: reads 0 (libpcap 1.10.3 reads its uninitialised stack).
	EXPECT_EQ(run({stmt(BPF_LD | BPF_MEM, 3), ret_a}, pkt, 0, false), 0u);
	EXPECT_EQ(run({stmt(BPF_LDX | BPF_W | BPF_MEM, 15), stmt(BPF_MISC | BPF_TXA, 0), ret_a}, pkt, 0, false), 0u);
	EXPECT_EQ(scratch_read_before_write(Program{stmt(BPF_LD | BPF_MEM, 3), ret_a}), 1u << 3);
}

struct AluCase {
	std::uint16_t op;
	std::uint32_t a, operand, expected;
};

TEST(Opcodes, AluWithKAndX)
{
	const std::array<AluCase, 19> cases = {{
		{BPF_ADD, 0xffffffff, 2, 1},
		{BPF_SUB, 1, 2, 0xffffffff},
		{BPF_MUL, 0x10001, 0x10001, 0x20001},
		{BPF_DIV, 100, 7, 14},
		{BPF_DIV, 100, 4, 25},
		{BPF_DIV, 0xffffffff, 1, 0xffffffff},
		{BPF_MOD, 100, 7, 2},
		{BPF_MOD, 100, 16, 4},
		{BPF_MOD, 0xffffffff, 0x80000000, 0x7fffffff},
		{BPF_AND, 0xf0f0, 0xff00, 0xf000},
		{BPF_AND, 0xffffffff, 0xfffffff0, 0xfffffff0},
		{BPF_OR, 0xf0f0, 0x0f00, 0xfff0},
		{BPF_XOR, 0xff00, 0x0ff0, 0xf0f0},
		{BPF_LSH, 1, 31, 0x80000000},
		{BPF_LSH, 3, 0, 3},
		{BPF_RSH, 0x80000000, 31, 1},
		{BPF_RSH, 0xffffffff, 4, 0x0fffffff},
		{BPF_ADD, 5, 0x80000000, 0x80000005},
		{BPF_SUB, 0, 0x80000000, 0x80000000},
	}};
	const Bytes pkt = counting();
	for (const auto &c : cases) {
		SCOPED_TRACE(testing::Message() << "op 0x" << std::hex << c.op << " a " << c.a << " operand " << c.operand);
		EXPECT_EQ(run({stmt(BPF_LD | BPF_IMM, c.a), stmt(BPF_ALU | c.op | BPF_K, c.operand), ret_a}, pkt), c.expected);
		EXPECT_EQ(run({stmt(BPF_LD | BPF_IMM, c.a), stmt(BPF_LDX | BPF_W | BPF_IMM, c.operand),
			       stmt(BPF_ALU | c.op | BPF_X, 0), ret_a}, pkt), c.expected);
	}
	EXPECT_EQ(run({stmt(BPF_LD | BPF_IMM, 5), stmt(BPF_ALU | BPF_NEG, 0), ret_a}, pkt), 0xfffffffbu);
	EXPECT_EQ(run({stmt(BPF_LD | BPF_IMM, 0), stmt(BPF_ALU | BPF_NEG, 0), ret_a}, pkt), 0u);
	EXPECT_EQ(run({stmt(BPF_LD | BPF_IMM, 42), stmt(BPF_MISC | BPF_TAX, 0), stmt(BPF_LD | BPF_IMM, 0),
		       stmt(BPF_MISC | BPF_TXA, 0), ret_a}, pkt), 42u);
}

TEST(Opcodes, DivisionAndModuloByXZeroReturnZero)
{
	const Bytes pkt = counting();
	for (std::uint16_t op : {BPF_DIV, BPF_MOD}) {
		EXPECT_EQ(run({stmt(BPF_LD | BPF_IMM, 100), stmt(BPF_LDX | BPF_W | BPF_IMM, 0),
			       stmt(BPF_ALU | op | BPF_X, 0), ret(77)}, pkt), 0u);
		// X is 0 only on this packet: load it from the data.
		EXPECT_EQ(run({stmt(BPF_LD | BPF_IMM, 100), stmt(BPF_LDX | BPF_B | BPF_MSH, 0),
			       stmt(BPF_ALU | op | BPF_X, 0), ret(77)}, pkt), 0u);
	}
}

TEST(Opcodes, ShiftByXOf32OrMoreGivesZero)
{
	const Bytes pkt = counting();
	for (std::uint16_t op : {BPF_LSH, BPF_RSH})
		for (std::uint32_t x : {32u, 33u, 63u, 64u, 0xffffffffu}) {
			SCOPED_TRACE(x);
			EXPECT_EQ(run({stmt(BPF_LD | BPF_IMM, 0xffffffff), stmt(BPF_LDX | BPF_W | BPF_IMM, x),
				       stmt(BPF_ALU | op | BPF_X, 0), ret_a}, pkt), 0u);
		}
	EXPECT_EQ(run({stmt(BPF_LD | BPF_IMM, 0xffffffff), stmt(BPF_LDX | BPF_W | BPF_IMM, 31),
		       stmt(BPF_ALU | BPF_LSH | BPF_X, 0), ret_a}, pkt), 0x80000000u);
}

TEST(Opcodes, ConditionalJumps)
{
	const Bytes pkt = counting();
	struct J { std::uint16_t op; std::uint32_t a, k; bool taken; };
	const std::array<J, 14> cases = {{
		{BPF_JEQ, 5, 5, true}, {BPF_JEQ, 5, 6, false}, {BPF_JEQ, 0, 0, true},
		{BPF_JEQ, 0xffffffff, 0xffffffff, true},
		{BPF_JGT, 6, 5, true}, {BPF_JGT, 5, 5, false},
		{BPF_JGT, 0x80000000, 0x7fffffff, true}, // unsigned
		{BPF_JGE, 5, 5, true}, {BPF_JGE, 4, 5, false},
		{BPF_JGE, 0xffffffff, 0x80000000, true},
		{BPF_JSET, 0x10, 0x30, true}, {BPF_JSET, 0x10, 0x20, false},
		{BPF_JSET, 0x80000000, 0x80000000, true}, {BPF_JSET, 0, 0xffffffff, false},
	}};
	for (const J &c : cases) {
		SCOPED_TRACE(testing::Message() << "op 0x" << std::hex << c.op << " a " << c.a << " k " << c.k);
		const std::uint32_t expected = c.taken ? 1 : 2;
		EXPECT_EQ(run({stmt(BPF_LD | BPF_IMM, c.a), jump(BPF_JMP | c.op | BPF_K, c.k, 0, 1), ret(1), ret(2)}, pkt), expected);
		EXPECT_EQ(run({stmt(BPF_LD | BPF_IMM, c.a), stmt(BPF_LDX | BPF_W | BPF_IMM, c.k),
			       jump(BPF_JMP | c.op | BPF_X, 0, 0, 1), ret(1), ret(2)}, pkt), expected);
		// Both targets non-zero, and equal targets.
		EXPECT_EQ(run({stmt(BPF_LD | BPF_IMM, c.a), jump(BPF_JMP | c.op | BPF_K, c.k, 1, 2), ret(9), ret(1), ret(2)}, pkt), expected);
		EXPECT_EQ(run({stmt(BPF_LD | BPF_IMM, c.a), jump(BPF_JMP | c.op | BPF_K, c.k, 1, 1), ret(9), ret(3)}, pkt), 3u);
	}
}

TEST(Opcodes, ReturnsAndUnconditionalJump)
{
	const Bytes pkt = counting();
	EXPECT_EQ(run({ret(0)}, pkt), 0u);
	EXPECT_EQ(run({ret(0xffffffff)}, pkt), 0xffffffffu);
	EXPECT_EQ(run({ret_a}, pkt), 0u); // A starts at 0
	EXPECT_EQ(run({stmt(BPF_MISC | BPF_TXA, 0), ret_a}, pkt), 0u); // X starts at 0
	EXPECT_EQ(run({stmt(BPF_JMP | BPF_JA, 1), ret(1), ret(2)}, pkt), 2u);
	EXPECT_EQ(run({stmt(BPF_JMP | BPF_JA, 0), ret(1), ret(2)}, pkt), 1u);
}

// ---- out of bounds at each width ------------------------------------------

TEST(Bounds, AbsoluteLoadsAtEachWidth)
{
	for (std::size_t caplen : {0u, 1u, 2u, 3u, 4u, 5u, 60u}) {
		const Bytes pkt = counting(caplen);
		SCOPED_TRACE(caplen);
		for (std::uint32_t size : {1u, 2u, 4u}) {
			const std::uint16_t sz = size == 4 ? BPF_W : size == 2 ? BPF_H : BPF_B;
			for (std::uint32_t k : {0u, 1u, 3u, 56u, 57u, 58u, 59u, 60u, 0x7fffffffu, 0x80000000u,
						0xfffffffcu, 0xfffffffeu, 0xffffffffu}) {
				const bool inside = std::uint64_t{k} + size <= caplen;
				const std::uint32_t got = run({stmt(BPF_LD | sz | BPF_ABS, k), stmt(BPF_ALU | BPF_OR | BPF_K, 0x100000), ret_a}, pkt, 1500);
				EXPECT_EQ(got != 0, inside) << "size " << size << " k " << k;
			}
		}
		for (std::uint32_t k : {0u, 59u, 60u, 0xffffffffu}) {
			const bool inside = k < caplen;
			EXPECT_EQ(run({stmt(BPF_LDX | BPF_B | BPF_MSH, k), ret(1)}, pkt) != 0, inside) << "msh k " << k;
		}
	}
}

TEST(Bounds, IndexedLoadsAtEachWidthWithoutWrapAround)
{
	const Bytes pkt = counting(60);
	struct C { std::uint32_t x, k; };
	const std::array<C, 12> cases = {{
		{0, 56}, {1, 55}, {55, 1}, {56, 1}, {59, 0}, {60, 0}, {0, 60},
		{0xffffffff, 1},   // X + k wraps to 0: still out of bounds
		{1, 0xffffffff},   // likewise
		{0x80000000, 0x80000000},
		{0xfffffffc, 4},
		{10, 0x7ffffff0},
	}};
	for (std::uint32_t size : {1u, 2u, 4u}) {
		const std::uint16_t sz = size == 4 ? BPF_W : size == 2 ? BPF_H : BPF_B;
		for (const C &c : cases) {
			const bool inside = std::uint64_t{c.x} + c.k + size <= pkt.size();
			const std::uint32_t got = run({stmt(BPF_LDX | BPF_W | BPF_IMM, c.x), stmt(BPF_LD | sz | BPF_IND, c.k),
						       stmt(BPF_ALU | BPF_OR | BPF_K, 0x100000), ret_a}, pkt);
			EXPECT_EQ(got != 0, inside) << "size " << size << " x " << c.x << " k " << c.k;
		}
	}
}

TEST(Bounds, LenIsWireLengthAndLoadsUseCapturedLength)
{
	const Bytes pkt = counting(20); // 20 captured of 1500 on the wire
	EXPECT_EQ(run({stmt(BPF_LD | BPF_W | BPF_LEN, 0), ret_a}, pkt, 1500), 1500u);
	EXPECT_EQ(run({stmt(BPF_LD | BPF_B | BPF_ABS, 20), ret(1)}, pkt, 1500), 0u);
	EXPECT_EQ(run({stmt(BPF_LD | BPF_B | BPF_ABS, 19), ret(1)}, pkt, 1500), 1u);
}

// ---- jumps to the last instruction, program length ---------------------------

TEST(Jumps, ToTheLastInstruction)
{
	const Bytes pkt = counting();
	Program p(10, stmt(BPF_ALU | BPF_ADD | BPF_K, 1));
	p[0] = jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 8, 8); // A == 0: both to the last
	p.back() = ret(5);
	EXPECT_EQ(run(p, pkt), 5u);
	p[0] = stmt(BPF_JMP | BPF_JA, 8);
	EXPECT_EQ(run(p, pkt), 5u);
	p[0] = stmt(BPF_JMP | BPF_JA, 9); // one past the end
	EXPECT_EQ(rejected_by(p), Rule::jump_out_of_range);
	p[0] = jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 9, 0);
	EXPECT_EQ(rejected_by(p), Rule::jump_out_of_range);
	p[0] = jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 9);
	EXPECT_EQ(rejected_by(p), Rule::jump_out_of_range);
	// Conditional jump with 255 (the largest offset) to the last instruction.
	Program far(257, stmt(BPF_ALU | BPF_ADD | BPF_K, 1));
	far[0] = jump(BPF_JMP | BPF_JGE | BPF_K, 0, 255, 0);
	far.back() = ret_a;
	EXPECT_EQ(run(far, pkt), 0u);
}

TEST(Jumps, MaximumLengthPrograms)
{
	const Bytes pkt = counting();
	Program p(BPF_MAXINSNS, stmt(BPF_ALU | BPF_ADD | BPF_K, 1));
	p.back() = ret_a;
	EXPECT_EQ(run(p, pkt), BPF_MAXINSNS - 1u);
	// A long JA over almost all of it.
	p[0] = stmt(BPF_JMP | BPF_JA, BPF_MAXINSNS - 3);
	EXPECT_EQ(run(p, pkt), 1u);
	// Chains of conditional jumps: every one taken.
	Program chain(BPF_MAXINSNS, jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1));
	chain.back() = ret(7);
	chain[BPF_MAXINSNS - 2] = jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 0);
	EXPECT_EQ(run(chain, pkt), 7u);
	p.push_back(ret_a);
	EXPECT_EQ(rejected_by(p), Rule::too_long);
}

// ---- the validator -----------------------------------------------------------

TEST(Validator, RejectsWhatLibpcapPassesAndThenAbortsOrLoopsOn)
{
	// Each of these passes libpcap's bpf_validate() (libpcap.md §5).
	EXPECT_EQ(rejected_by({stmt(BPF_RET | BPF_X, 0)}), Rule::unknown_opcode);
	EXPECT_EQ(rejected_by({stmt(BPF_MISC | 0x10, 0), ret(0)}), Rule::unknown_opcode);
	EXPECT_EQ(rejected_by({stmt(BPF_LDX | BPF_W | BPF_ABS, 0), ret(0)}), Rule::unknown_opcode);
	EXPECT_EQ(rejected_by({stmt(BPF_LD | 0x18 | BPF_ABS, 0), ret(0)}), Rule::unknown_opcode);
	EXPECT_EQ(rejected_by({stmt(BPF_LDX | BPF_W | BPF_MSH, 0), ret(0)}), Rule::unknown_opcode);
	EXPECT_EQ(rejected_by({stmt(BPF_ALU | BPF_NEG | BPF_X, 0), ret(0)}), Rule::unknown_opcode);
	EXPECT_EQ(rejected_by({stmt(BPF_LD | BPF_H | BPF_LEN, 0), ret(0)}), Rule::unknown_opcode);
	EXPECT_EQ(rejected_by({stmt(0x106, 0)}), Rule::unknown_opcode);
	EXPECT_EQ(rejected_by({stmt(BPF_JMP | BPF_JA, 0xffffffff), ret(0)}), Rule::jump_out_of_range);
	EXPECT_EQ(rejected_by({stmt(BPF_ALU | BPF_LSH | BPF_K, 32), ret(0)}), Rule::shift_too_large);
	EXPECT_EQ(rejected_by({stmt(BPF_ALU | BPF_RSH | BPF_K, 0xffffffff), ret(0)}), Rule::shift_too_large);
}

TEST(Validator, SameAsLibpcapForTheRest)
{
	EXPECT_EQ(rejected_by({}), Rule::empty_program);
	EXPECT_EQ(rejected_by({stmt(BPF_LD | BPF_IMM, 0)}), Rule::no_final_return);
	EXPECT_EQ(rejected_by({stmt(BPF_ALU | BPF_DIV | BPF_K, 0), ret(0)}), Rule::divide_by_zero);
	EXPECT_EQ(rejected_by({stmt(BPF_ALU | BPF_MOD | BPF_K, 0), ret(0)}), Rule::divide_by_zero);
	EXPECT_EQ(rejected_by({stmt(BPF_ST, 16), ret(0)}), Rule::scratch_out_of_range);
	EXPECT_EQ(rejected_by({stmt(BPF_STX, 0xffffffff), ret(0)}), Rule::scratch_out_of_range);
	EXPECT_EQ(rejected_by({stmt(BPF_LD | BPF_MEM, 16), ret(0)}), Rule::scratch_out_of_range);
	EXPECT_EQ(rejected_by({stmt(BPF_LDX | BPF_W | BPF_MEM, 16), ret(0)}), Rule::scratch_out_of_range);
	EXPECT_TRUE(validate(Program{stmt(BPF_ALU | BPF_LSH | BPF_K, 31), ret(0)}).has_value());
}

TEST(Validator, MessageNamesInstructionAndReason)
{
	auto r = validate(Program{stmt(BPF_LD | BPF_IMM, 1), stmt(BPF_LD | BPF_IMM, 2),
				  stmt(BPF_ALU | BPF_DIV | BPF_K, 0), ret_a});
	ASSERT_FALSE(r.has_value());
	EXPECT_EQ(r.error().index, 2u);
	EXPECT_EQ(r.error().message(), "insn 2 (code 0x34 jt 0 jf 0 k 0x0): division or modulo by constant 0");
	auto f = Filter::create(Program{stmt(BPF_LD | BPF_IMM, 1)});
	ASSERT_FALSE(f.has_value());
	EXPECT_EQ(f.error().rule, Rule::no_final_return);
}

// ---- the API -------------------------------------------------------------------

TEST(Api, EngineChoiceAndConcurrentRuns)
{
	const Program p = {stmt(BPF_LD | BPF_B | BPF_ABS, 0), stmt(BPF_ST, 0), stmt(BPF_LDX | BPF_W | BPF_MEM, 0),
			   stmt(BPF_ALU | BPF_MUL | BPF_X, 0), ret_a};
	auto interp = Filter::create(p, Engine::interpreter);
	ASSERT_TRUE(interp.has_value());
	EXPECT_EQ(interp->engine(), Engine::interpreter);
	auto best = Filter::create(p);
	ASSERT_TRUE(best.has_value());
	EXPECT_EQ(best->engine(), JitCode::supported() ? Engine::jit : Engine::interpreter);
	Filter moved = std::move(*best); // the native code moves with it
	std::vector<std::thread> threads;
	std::array<bool, 4> ok{};
	for (int t = 0; t < 4; ++t)
		threads.emplace_back([&, t] {
			bool good = true;
			for (int i = 0; i < 20000; ++i) {
				const std::uint8_t v = static_cast<std::uint8_t>(i + t);
				const Bytes pkt{v};
				good &= moved.run(pkt, 1) == std::uint32_t{v} * v;
				good &= interp->run(pkt, 1) == std::uint32_t{v} * v;
			}
			ok[t] = good;
		});
	for (auto &th : threads)
		th.join();
	for (bool b : ok)
		EXPECT_TRUE(b);
}

// Linux >= 6.3 "memory-deny-write-execute": mprotect() may no longer add
// PROT_EXEC, which is exactly what the JIT needs. In a child process (the
// setting cannot be undone), the same program must still run, interpreted.
TEST(Api, FallsBackToInterpreterWhenExecutableMemoryIsRefused)
{
	constexpr int pr_set_mdwe = 65, pr_mdwe_refuse_exec_gain = 1;
	const Program p = {stmt(BPF_LD | BPF_H | BPF_ABS, 0), jump(BPF_JMP | BPF_JEQ | BPF_K, 0x0102, 0, 1),
			   ret(99), ret(0)};
	const pid_t child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		if (prctl(pr_set_mdwe, pr_mdwe_refuse_exec_gain, 0, 0, 0) != 0)
			_exit(77); // kernel without MDWE
		auto f = Filter::create(p, Engine::jit);
		const Bytes pkt = {1, 2, 3};
		const bool ok = f && f->engine() == Engine::interpreter && f->run(pkt, 3) == 99;
		_exit(ok ? 0 : 1);
	}
	int status = 0;
	ASSERT_EQ(waitpid(child, &status, 0), child);
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		GTEST_SKIP() << "PR_SET_MDWE not supported by this kernel";
	EXPECT_EQ(WEXITSTATUS(status), 0);
}
