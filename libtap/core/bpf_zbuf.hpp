// Zero-copy buffers for the kernel backend (bpf(4) BUFFER MODES, FreeBSD's
// BIOCSETZBUF): two page-aligned buffers the module writes records into and
// hands over by generation number (struct bpf_zbuf_header).
#pragma once

#include <string>

#include <tap/error.hpp>

#include "bpf_source.hpp"

namespace tap::detail {

// Before BIOCSETIF: switch fd to zero-copy mode and donate two buffers of
// about `size` bytes (whole pages, at most BIOCGETZMAX). An empty pointer
// when the module does not offer the mode (BIOCSETBUFMODE: EINVAL), so the
// caller stays in copy mode; an error if it does and setting up fails.
Result<std::unique_ptr<BufferSource>> zbuf_source(int fd, std::size_t size, const std::string &where);

} // namespace tap::detail
