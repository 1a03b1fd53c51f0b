// Errors in libtap: every fallible call returns tap::Result<T>, which is
// std::expected<T, tap::Error>. No call throws (allocation failure aside).
// tap::Error carries an std::error_code (errno in generic_category, or
// tap::errc) and context: which device and which call. unwrap() is the thin
// throwing layer for callers who prefer exceptions.
#pragma once

#include <expected>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include <tap/errc.hpp>

namespace tap {

struct Error {
	std::error_code code;
	std::string context; // e.g. "bpf:eth0: BIOCSETIF"

	// "context: description", the line a tool prints.
	std::string message() const
	{
		return context.empty() ? code.message() : context + ": " + code.message();
	}

	// From errno (or another std::errc) plus context.
	static Error from_errno(int err, std::string context)
	{
		return {std::error_code(err, std::generic_category()), std::move(context)};
	}
};

template <class T> using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(std::error_code code, std::string context)
{
	return std::unexpected(Error{code, std::move(context)});
}

inline std::unexpected<Error> fail_errno(int err, std::string context)
{
	return std::unexpected(Error::from_errno(err, std::move(context)));
}

// Thrown only by unwrap().
class Exception : public std::system_error {
public:
	explicit Exception(const Error &e) : std::system_error(e.code, e.context) {}
};

template <class T> T unwrap(Result<T> &&r)
{
	if (!r)
		throw Exception(r.error());
	if constexpr (!std::is_void_v<T>)
		return std::move(*r);
}

} // namespace tap
