// What the command-line tools share: failing with one line, and numbers
// from arguments. Header-only: a folder without a CMakeLists.txt is not a
// tool (utils/CMakeLists.txt).
#pragma once

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>

namespace tools {

// The tool's name for messages; each main() sets it first.
inline const char *program = "tool";

// "PROGRAM: message" on stderr, then exit status 1.
[[noreturn]] inline void die(const std::string &message)
{
	std::fprintf(stderr, "%s: %s\n", program, message.c_str());
	std::exit(1);
}

// The whole of text as a T, or die naming what it was meant to be.
template <class T> T number(const char *text, const char *what)
{
	T value{};
	const std::size_t n = std::strlen(text);
	auto [end, ec] = std::from_chars(text, text + n, value);
	if (ec != std::errc{} || end != text + n)
		die(std::string("invalid ") + what + " '" + text + "'");
	return value;
}

} // namespace tools
