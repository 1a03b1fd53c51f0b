// The engine API: validate a classic-BPF program once, then run it many
// times on (captured bytes, wire length) and get libpcap's snap length.
//
//   auto filter = tap::cbpf::Filter::create(program);   // validates, JITs
//   if (!filter) log(filter.error().message());
//   std::uint32_t keep = filter->run(bytes, wire_len);   // 0 = drop
//
// run() is const and touches no shared state: call it from any number of
// threads at once.
#pragma once

#include <tap/cbpf/interpret.hpp>
#include <tap/cbpf/jit.hpp>
#include <tap/cbpf/validate.hpp>

#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace tap::cbpf {

enum class Engine : std::uint8_t {
	fastest,     // native code when it can run here, else the interpreter
	interpreter, // force the interpreter (debugging, comparison)
	jit,         // ask for native code; still falls back if it cannot run
};

const char *engine_name(Engine engine) noexcept;

class Filter {
public:
	static std::expected<Filter, ValidationError> create(std::span<const bpf_insn> program,
							     Engine engine = Engine::fastest);

	std::uint32_t run(std::span<const std::uint8_t> bytes, std::uint32_t wire_len) const noexcept
	{
		if (constant_)
			return *constant_;
		if (native_ != nullptr) {
			const std::size_t n = bytes.size();
			const auto caplen = static_cast<std::uint32_t>(n < 0xffffffffu ? n : 0xffffffffu);
			return native_(bytes.data(), caplen, wire_len);
		}
		return interpreter_.run(bytes, wire_len);
	}

	// What actually runs: Engine::jit or Engine::interpreter.
	Engine engine() const noexcept { return native_ ? Engine::jit : Engine::interpreter; }
	std::span<const bpf_insn> program() const noexcept { return program_; }
	const Interpreter &interpreter() const noexcept { return interpreter_; }
	std::size_t native_code_size() const noexcept { return jit_ ? jit_->code_size() : 0; }

private:
	Filter(std::vector<bpf_insn> program, std::unique_ptr<JitCode> jit);

	std::vector<bpf_insn> program_;
	Interpreter interpreter_;
	std::unique_ptr<JitCode> jit_;
	JitCode::Function native_ = nullptr;
	std::optional<std::uint32_t> constant_; // program starts with RET K: no call at all
};

} // namespace tap::cbpf
