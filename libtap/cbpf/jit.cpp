// x86-64 JIT. Register plan (System V, leaf function, no stack frame):
//   rdi  packet bytes        esi  captured length (zero-extended to rsi)
//   eax  A                   ecx  X (shift counts need cl)
//   edx  wire length, moved to r8d when the program divides (div uses edx)
//   r9, r10  temporaries     M[0..15] in the 128-byte red zone below rsp
// Every load bounds-checks against the captured length and jumps to a
// shared "return 0" on failure, as libpcap's interpreter does.
#include <tap/cbpf/jit.hpp>
#include <tap/cbpf/validate.hpp>

#include <bit>
#include <limits>
#include <vector>

#if defined(TAP_CBPF_HAVE_ASMJIT) && defined(__x86_64__)
#include <asmjit/x86.h>
#include <sys/mman.h>
#include <unistd.h>
#define TAP_CBPF_JIT 1
#endif

namespace tap::cbpf {

#if TAP_CBPF_JIT
namespace {

namespace x86 = asmjit::x86;

// asmjit reports encoding errors through a handler; remember the first.
class RecordError : public asmjit::ErrorHandler {
public:
	void handleError(asmjit::Error err, const char *, asmjit::BaseEmitter *) override
	{
		if (error == asmjit::kErrorOk)
			error = err;
	}
	asmjit::Error error = asmjit::kErrorOk;
};

constexpr std::uint64_t u32_max = std::numeric_limits<std::uint32_t>::max();
constexpr std::int32_t scratch_base = -64; // M[i] at [rsp - 64 + 4 i]

bool is_power_of_two(std::uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

class Compiler {
public:
	Compiler(std::span<const bpf_insn> program, asmjit::CodeHolder &code)
		: program_(program), a_(&code), labels_(program.size())
	{
		for (auto &label : labels_)
			label = a_.newLabel();
		ret0_ = a_.newLabel();
		for (const bpf_insn &insn : program) {
			const auto op = BPF_OP(insn.code);
			if (BPF_CLASS(insn.code) == BPF_ALU && (op == BPF_DIV || op == BPF_MOD))
				wirelen_ = x86::r8d;
		}
	}

	void emit()
	{
		bool indexed = false;
		for (const bpf_insn &insn : program_)
			indexed |= BPF_CLASS(insn.code) == BPF_LD && BPF_MODE(insn.code) == BPF_IND;
		if (indexed) // compared as 64 bits; the upper half of an argument is unspecified
			a_.mov(x86::esi, x86::esi);
		if (wirelen_ != x86::edx)
			a_.mov(wirelen_, x86::edx);
		a_.xor_(x86::eax, x86::eax);
		a_.xor_(x86::ecx, x86::ecx);
		// Scratch starts at zero, but only slots read before written can tell.
		const std::uint16_t unsafe = scratch_read_before_write(program_);
		for (std::uint32_t slot = 0; slot < BPF_MEMWORDS; ++slot)
			if (unsafe & (1u << slot))
				a_.mov(scratch(slot), x86::eax);
		for (std::size_t pc = 0; pc < program_.size(); ++pc) {
			a_.bind(labels_[pc]);
			emit_one(pc, program_[pc]);
		}
		a_.bind(ret0_);
		a_.xor_(x86::eax, x86::eax);
		a_.ret();
	}

private:
	x86::Mem scratch(std::uint32_t k) const
	{
		return x86::dword_ptr(x86::rsp, scratch_base + static_cast<std::int32_t>(4 * k));
	}

	// Memory operand for [packet + k]; large k goes through r9.
	x86::Mem packet_at(std::uint32_t k, std::uint32_t size)
	{
		if (k <= static_cast<std::uint32_t>(std::numeric_limits<std::int32_t>::max()) - size)
			return x86::ptr(x86::rdi, static_cast<std::int32_t>(k), size);
		a_.mov(x86::r9d, k);
		return x86::ptr(x86::rdi, x86::r9, 0, 0, size);
	}

	// Loads A (or X for MSH) from [k] or [X + k]; false path returns 0.
	void emit_load(const bpf_insn &insn, std::uint32_t size, bool indexed)
	{
		const std::uint64_t end = std::uint64_t{insn.k} + size;
		if (end > u32_max) { // never inside a capture of at most 4 GiB - 1
			a_.jmp(ret0_);
			return;
		}
		x86::Mem src;
		if (indexed) {
			a_.mov(x86::r9d, static_cast<std::uint32_t>(end));
			a_.add(x86::r9, x86::rcx); // X + k + size, 64 bits: no wrap
			a_.cmp(x86::r9, x86::rsi);
			a_.ja(ret0_);
			src = x86::ptr(x86::rdi, x86::r9, 0, -static_cast<std::int32_t>(size), size);
		} else {
			a_.cmp(x86::esi, static_cast<std::uint32_t>(end));
			a_.jb(ret0_);
			src = packet_at(insn.k, size);
		}
		switch (size) {
		case 4:
			a_.mov(x86::eax, src);
			a_.bswap(x86::eax);
			break;
		case 2:
			a_.movzx(x86::eax, src);
			a_.rol(x86::ax, 8);
			break;
		default:
			a_.movzx(x86::eax, src);
			break;
		}
	}

	bool is_ret_k(std::size_t pc) const { return program_[pc].code == (BPF_RET | BPF_K); }

	void emit_branch(std::size_t pc, const bpf_insn &insn, asmjit::x86::CondCode cond)
	{
		const std::size_t t = pc + 1 + insn.jt, f = pc + 1 + insn.jf;
		if (is_ret_k(t) && is_ret_k(f)) {
			// The final verdict of most filters ("jeq ... jt ret #N jf ret
			// #0"): select it with cmov instead of a branch that random
			// traffic mispredicts. mov leaves the flags alone.
			a_.mov(x86::eax, program_[f].k);
			if (program_[t].k != program_[f].k) {
				a_.mov(x86::r10d, program_[t].k);
				a_.cmov(cond, x86::eax, x86::r10d);
			}
			a_.ret();
		} else if (insn.jt == insn.jf) {
			if (insn.jt != 0)
				a_.jmp(labels_[t]);
		} else if (insn.jt == 0) {
			a_.j(x86::negateCond(cond), labels_[f]);
		} else {
			a_.j(cond, labels_[t]);
			if (insn.jf != 0)
				a_.jmp(labels_[f]);
		}
	}

	void emit_one(std::size_t pc, const bpf_insn &insn)
	{
		const std::uint32_t k = insn.k;
		switch (insn.code) {
		case BPF_LD | BPF_W | BPF_ABS: emit_load(insn, 4, false); break;
		case BPF_LD | BPF_H | BPF_ABS: emit_load(insn, 2, false); break;
		case BPF_LD | BPF_B | BPF_ABS: emit_load(insn, 1, false); break;
		case BPF_LD | BPF_W | BPF_IND: emit_load(insn, 4, true); break;
		case BPF_LD | BPF_H | BPF_IND: emit_load(insn, 2, true); break;
		case BPF_LD | BPF_B | BPF_IND: emit_load(insn, 1, true); break;
		case BPF_LD | BPF_W | BPF_LEN: a_.mov(x86::eax, wirelen_); break;
		case BPF_LDX | BPF_W | BPF_LEN: a_.mov(x86::ecx, wirelen_); break;
		case BPF_LD | BPF_IMM: a_.mov(x86::eax, k); break;
		case BPF_LDX | BPF_W | BPF_IMM: a_.mov(x86::ecx, k); break;
		case BPF_LD | BPF_MEM: a_.mov(x86::eax, scratch(k)); break;
		case BPF_LDX | BPF_W | BPF_MEM: a_.mov(x86::ecx, scratch(k)); break;
		case BPF_ST: a_.mov(scratch(k), x86::eax); break;
		case BPF_STX: a_.mov(scratch(k), x86::ecx); break;
		case BPF_LDX | BPF_B | BPF_MSH:
			a_.cmp(x86::esi, k);
			a_.jbe(ret0_); // captured length <= k
			a_.movzx(x86::ecx, packet_at(k, 1));
			a_.and_(x86::ecx, 0xf);
			a_.shl(x86::ecx, 2);
			break;
		case BPF_ALU | BPF_ADD | BPF_K: a_.add(x86::eax, k); break;
		case BPF_ALU | BPF_ADD | BPF_X: a_.add(x86::eax, x86::ecx); break;
		case BPF_ALU | BPF_SUB | BPF_K: a_.sub(x86::eax, k); break;
		case BPF_ALU | BPF_SUB | BPF_X: a_.sub(x86::eax, x86::ecx); break;
		case BPF_ALU | BPF_MUL | BPF_K: a_.imul(x86::eax, x86::eax, k); break;
		case BPF_ALU | BPF_MUL | BPF_X: a_.imul(x86::eax, x86::ecx); break;
		case BPF_ALU | BPF_AND | BPF_K: a_.and_(x86::eax, k); break;
		case BPF_ALU | BPF_AND | BPF_X: a_.and_(x86::eax, x86::ecx); break;
		case BPF_ALU | BPF_OR | BPF_K: a_.or_(x86::eax, k); break;
		case BPF_ALU | BPF_OR | BPF_X: a_.or_(x86::eax, x86::ecx); break;
		case BPF_ALU | BPF_XOR | BPF_K: a_.xor_(x86::eax, k); break;
		case BPF_ALU | BPF_XOR | BPF_X: a_.xor_(x86::eax, x86::ecx); break;
		case BPF_ALU | BPF_LSH | BPF_K: if (k) a_.shl(x86::eax, k); break;
		case BPF_ALU | BPF_RSH | BPF_K: if (k) a_.shr(x86::eax, k); break;
		case BPF_ALU | BPF_LSH | BPF_X:
		case BPF_ALU | BPF_RSH | BPF_X:
			// x86 masks the count to 5 bits; BPF wants 0 for X >= 32.
			if (BPF_OP(insn.code) == BPF_LSH)
				a_.shl(x86::eax, x86::cl);
			else
				a_.shr(x86::eax, x86::cl);
			a_.xor_(x86::r10d, x86::r10d);
			a_.cmp(x86::ecx, 32);
			a_.cmovae(x86::eax, x86::r10d);
			break;
		case BPF_ALU | BPF_DIV | BPF_K:
			if (is_power_of_two(k)) {
				if (k > 1)
					a_.shr(x86::eax, std::countr_zero(k));
			} else {
				a_.xor_(x86::edx, x86::edx);
				a_.mov(x86::r10d, k);
				a_.div(x86::r10d);
			}
			break;
		case BPF_ALU | BPF_MOD | BPF_K:
			if (is_power_of_two(k)) {
				a_.and_(x86::eax, k - 1);
			} else {
				a_.xor_(x86::edx, x86::edx);
				a_.mov(x86::r10d, k);
				a_.div(x86::r10d);
				a_.mov(x86::eax, x86::edx);
			}
			break;
		case BPF_ALU | BPF_DIV | BPF_X:
		case BPF_ALU | BPF_MOD | BPF_X:
			a_.test(x86::ecx, x86::ecx);
			a_.jz(ret0_);
			a_.xor_(x86::edx, x86::edx);
			a_.div(x86::ecx);
			if (BPF_OP(insn.code) == BPF_MOD)
				a_.mov(x86::eax, x86::edx);
			break;
		case BPF_ALU | BPF_NEG: a_.neg(x86::eax); break;
		case BPF_MISC | BPF_TAX: a_.mov(x86::ecx, x86::eax); break;
		case BPF_MISC | BPF_TXA: a_.mov(x86::eax, x86::ecx); break;
		case BPF_JMP | BPF_JA:
			if (k != 0)
				a_.jmp(labels_[pc + 1 + k]);
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
		case BPF_JMP | BPF_JGT | BPF_K:
		case BPF_JMP | BPF_JGE | BPF_K:
			if (k == 0 && BPF_OP(insn.code) == BPF_JEQ)
				a_.test(x86::eax, x86::eax);
			else
				a_.cmp(x86::eax, k);
			emit_branch(pc, insn, condition(insn.code));
			break;
		case BPF_JMP | BPF_JEQ | BPF_X:
		case BPF_JMP | BPF_JGT | BPF_X:
		case BPF_JMP | BPF_JGE | BPF_X:
			a_.cmp(x86::eax, x86::ecx);
			emit_branch(pc, insn, condition(insn.code));
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			a_.test(x86::eax, k);
			emit_branch(pc, insn, x86::CondCode::kNZ);
			break;
		case BPF_JMP | BPF_JSET | BPF_X:
			a_.test(x86::eax, x86::ecx);
			emit_branch(pc, insn, x86::CondCode::kNZ);
			break;
		case BPF_RET | BPF_K:
			if (k == 0)
				a_.xor_(x86::eax, x86::eax);
			else
				a_.mov(x86::eax, k);
			a_.ret();
			break;
		case BPF_RET | BPF_A: a_.ret(); break;
		default: // unreachable for validated programs; fail safe
			a_.jmp(ret0_);
			break;
		}
	}

	static x86::CondCode condition(std::uint16_t code)
	{
		switch (BPF_OP(code)) {
		case BPF_JEQ: return x86::CondCode::kE;
		case BPF_JGT: return x86::CondCode::kA;  // unsigned >
		default: return x86::CondCode::kAE;      // unsigned >=
		}
	}

	std::span<const bpf_insn> program_;
	x86::Assembler a_;
	std::vector<asmjit::Label> labels_;
	asmjit::Label ret0_;
	x86::Gp wirelen_ = x86::edx;
};

} // namespace

bool JitCode::supported() noexcept { return true; }

std::unique_ptr<JitCode> JitCode::compile(std::span<const bpf_insn> validated)
{
	asmjit::CodeHolder code;
	RecordError errors;
	if (code.init(asmjit::Environment::host()) != asmjit::kErrorOk)
		return nullptr;
	code.setErrorHandler(&errors);
	{
		Compiler compiler(validated, code);
		compiler.emit();
	}
	if (errors.error != asmjit::kErrorOk || code.flatten() != asmjit::kErrorOk ||
	    code.resolveUnresolvedLinks() != asmjit::kErrorOk)
		return nullptr;

	const std::size_t size = code.codeSize();
	const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
	const std::size_t mapped = (size + page - 1) / page * page;
	void *pages = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pages == MAP_FAILED)
		return nullptr;
	std::unique_ptr<JitCode> jit(new JitCode(pages, mapped, size)); // owns pages from here
	if (code.relocateToBase(reinterpret_cast<std::uint64_t>(pages)) != asmjit::kErrorOk ||
	    code.copyFlattenedData(pages, size, asmjit::CopySectionFlags::kPadSectionBuffer) !=
		    asmjit::kErrorOk)
		return nullptr;
	// Write, then flip to read+execute; a policy that forbids PROT_EXEC
	// (SELinux execmem, PaX) makes this fail and the caller interprets.
	if (mprotect(pages, mapped, PROT_READ | PROT_EXEC) != 0)
		return nullptr;
	return jit;
}

JitCode::JitCode(void *pages, std::size_t mapped, std::size_t code_size) noexcept
	: pages_(pages), mapped_(mapped), code_size_(code_size),
	  function_(reinterpret_cast<Function>(pages))
{
}

JitCode::~JitCode() { munmap(pages_, mapped_); }

#else // no JIT on this build

bool JitCode::supported() noexcept { return false; }
std::unique_ptr<JitCode> JitCode::compile(std::span<const bpf_insn>) { return nullptr; }
JitCode::JitCode(void *pages, std::size_t mapped, std::size_t code_size) noexcept
	: pages_(pages), mapped_(mapped), code_size_(code_size), function_(nullptr)
{
}
JitCode::~JitCode() = default;

#endif

} // namespace tap::cbpf
