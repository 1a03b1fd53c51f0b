// The tap::errc error category: names for libtap's own failure kinds.
#include <tap/errc.hpp>

#include <string>

namespace tap {
namespace {

class Category final : public std::error_category {
public:
	const char *name() const noexcept override { return "libtap"; }

	std::string message(int value) const override
	{
		switch (static_cast<errc>(value)) {
		case errc::truncated_header: return "capture buffer ends inside a record header";
		case errc::header_too_short: return "record header length too short";
		case errc::record_past_end: return "record runs past the end of the capture buffer";
		case errc::caplen_exceeds_wirelen: return "record captured length exceeds its wire length";
		case errc::misaligned_buffer: return "capture buffer not aligned to BPF_ALIGNMENT";
		case errc::bad_filter: return "bad filter";
		case errc::invalid_option: return "invalid option";
		case errc::unknown_backend: return "unknown device backend";
		case errc::backend_unavailable: return "device backend not available in this build";
		}
		return "unknown libtap error " + std::to_string(value);
	}
};

} // namespace

const std::error_category &category() noexcept
{
	static const Category instance;
	return instance;
}

} // namespace tap
