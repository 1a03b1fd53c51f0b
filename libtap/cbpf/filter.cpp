#include <tap/cbpf/filter.hpp>

namespace tap::cbpf {

const char *engine_name(Engine engine) noexcept
{
	switch (engine) {
	case Engine::fastest: return "fastest";
	case Engine::interpreter: return "interp";
	case Engine::jit: return "jit";
	}
	return "?";
}

Filter::Filter(std::vector<bpf_insn> program, std::unique_ptr<JitCode> jit)
	: program_(std::move(program)), interpreter_(program_), jit_(std::move(jit)),
	  native_(jit_ ? jit_->function() : nullptr)
{
	if (jit_ && program_.front().code == (BPF_RET | BPF_K))
		constant_ = program_.front().k; // e.g. the accept-all program
}

std::expected<Filter, ValidationError> Filter::create(std::span<const bpf_insn> program,
							   Engine engine)
{
	if (auto valid = validate(program); !valid)
		return std::unexpected(valid.error());
	std::unique_ptr<JitCode> jit;
	if (engine != Engine::interpreter)
		jit = JitCode::compile(program); // nullptr: interpret instead
	return Filter(std::vector<bpf_insn>(program.begin(), program.end()), std::move(jit));
}

} // namespace tap::cbpf
