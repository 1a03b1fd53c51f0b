// x86-64 native code for a validated classic-BPF program, generated with
// asmjit. The code pages are written while read-write, then switched to
// read-execute: never writable and executable at once.
#pragma once

#include <net/bpf.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace tap::cbpf {

class JitCode {
public:
	// packet, captured length, wire length -> snap length
	using Function = std::uint32_t (*)(const std::uint8_t *, std::uint32_t, std::uint32_t) noexcept;

	// Precondition: validate(program) succeeded. Returns nullptr when native
	// code cannot run here (not x86-64, built without asmjit, no executable
	// memory): the caller falls back to the interpreter.
	static std::unique_ptr<JitCode> compile(std::span<const bpf_insn> validated);

	// True when compile() can produce code on this machine at all.
	static bool supported() noexcept;

	~JitCode();
	JitCode(const JitCode &) = delete;
	JitCode &operator=(const JitCode &) = delete;

	Function function() const noexcept { return function_; }
	std::size_t code_size() const noexcept { return code_size_; }

private:
	JitCode(void *pages, std::size_t mapped, std::size_t code_size) noexcept;

	void *pages_;
	std::size_t mapped_;
	std::size_t code_size_;
	Function function_;
};

} // namespace tap::cbpf
