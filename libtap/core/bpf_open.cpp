// Kernel backend, opening: find a free /dev/bpf node, size its buffer,
// attach it, apply the options -- in the order bpf(4) requires
// (BIOCSBLEN before BIOCSETIF; the filter once the link type is known).
// Until the caller's filter is in, a filter that rejects everything is: a
// frame caught while the descriptor is set up would otherwise reach the
// first read, outside the filter (and, for a fan-out member, outside its
// share), because BIOCSETF cannot discard a zero-copy buffer the module
// already handed over (immediate mode hands over every record).
#include "bpf_backend.hpp"
#include "bpf_zbuf.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace tap::detail {
namespace {

struct Opened {
	UniqueFd fd;
	std::string path;
};

Result<UniqueFd> open_node(const std::string &path)
{
	// Capture-only permission (0400/0440) still allows capturing.
	int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == EACCES)
		fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return std::unexpected(Error::from_errno(errno, {}));
	return UniqueFd(fd);
}

// The cloning /dev/bpf first; else /dev/bpf0, 1, ... skipping only busy
// ones (EBUSY) and stopping at the first that does not exist.
Result<Opened> open_free_node(const std::string &name)
{
	auto clone = open_node("/dev/bpf");
	if (clone)
		return Opened{std::move(*clone), "/dev/bpf"};
	const int clone_err = clone.error().code.value();
	if (clone_err == EACCES || clone_err == EPERM)
		return fail_errno(clone_err, name + ": open /dev/bpf (need root or the capture group)");
	if (clone_err != ENOENT && clone_err != ENODEV && clone_err != ENXIO)
		return fail_errno(clone_err, name + ": open /dev/bpf");

	for (int unit = 0;; ++unit) {
		const std::string path = "/dev/bpf" + std::to_string(unit);
		auto node = open_node(path);
		if (node)
			return Opened{std::move(*node), path};
		const int err = node.error().code.value();
		if (err == EBUSY)
			continue;
		if (err == ENOENT && unit == 0)
			return fail_errno(ENOENT, name + ": open /dev/bpf (is the bpfdev module loaded?)");
		if (err == ENOENT)
			return fail_errno(EBUSY, name + ": all " + std::to_string(unit) +
							 " /dev/bpf devices are busy");
		if (err == EACCES || err == EPERM)
			return fail_errno(err, name + ": open " + path + " (need root or the capture group)");
		return fail_errno(err, name + ": open " + path);
	}
}

// The interface's IPv4 netmask for pcap_compile, found with pcap_lookupnet
// as tcpdump's code does, so "ip broadcast" also matches the subnet's
// broadcast address (pcap-filter(7)). pcap_lookupnet gives the mask as
// stored in the address (network order); pcap_compile compares it with
// loaded words (host order). 0 when it has no IPv4 address, as tcpdump.
std::uint32_t lookup_netmask(std::string_view ifname)
{
	char err[PCAP_ERRBUF_SIZE];
	bpf_u_int32 net = 0, mask = 0;
	const std::string name(ifname);
	if (pcap_lookupnet(name.c_str(), &net, &mask, err) != 0)
		return 0;
	return ntohl(mask);
}

unsigned int bpf_direction(Direction d)
{
	switch (d) {
	case Direction::in: return BPF_D_IN;
	case Direction::out: return BPF_D_OUT;
	case Direction::inout: break;
	}
	return BPF_D_INOUT;
}

} // namespace

Result<std::unique_ptr<Backend>> open_bpf(std::string_view ifname, const Options &options,
					  const std::string &name, const Fanout *fanout)
{
	if (ifname.size() >= IFNAMSIZ)
		return fail(errc::invalid_option, name + ": interface name longer than " +
							 std::to_string(IFNAMSIZ - 1));
	auto node = open_free_node(name);
	if (!node)
		return std::unexpected(std::move(node.error()));
	const int fd = node->fd.get();
	const std::string where = name + ": " + node->path + ": ";
	auto sys = [&](const char *call) {
		const int err = errno; // before any allocation can touch it
		return fail_errno(err, where + call);
	};

	struct bpf_version version {};
	if (::ioctl(fd, BIOCVERSION, &version) < 0)
		return sys("BIOCVERSION");
	if (version.bv_major != BPF_MAJOR_VERSION || version.bv_minor < BPF_MINOR_VERSION)
		return fail_errno(EPROTO, where + "BIOCVERSION " + std::to_string(version.bv_major) +
						  "." + std::to_string(version.bv_minor) +
						  " (need " + std::to_string(BPF_MAJOR_VERSION) + ".x)");

	const struct bpf_insn reject = BPF_STMT(BPF_RET | BPF_K, 0);
	struct bpf_program nothing{1, const_cast<struct bpf_insn *>(&reject)};
	if (::ioctl(fd, BIOCSETF, &nothing) < 0)
		return sys("BIOCSETF (reject all until set up)");

	// Zero-copy buffers where the module offers them, else BIOCSBLEN.
	std::unique_ptr<BufferSource> source;
	if (options.zero_copy) {
		auto zbuf = zbuf_source(fd, options.buffer_size, where);
		if (!zbuf)
			return std::unexpected(std::move(zbuf.error()));
		source = std::move(*zbuf);
	}
	unsigned int blen = static_cast<unsigned int>(options.buffer_size);
	if (!source && ::ioctl(fd, BIOCSBLEN, &blen) < 0)
		return sys("BIOCSBLEN");

	struct ifreq ifr {};
	std::memcpy(ifr.ifr_name, ifname.data(), ifname.size());
	if (::ioctl(fd, BIOCSETIF, &ifr) < 0) {
		if (errno == ENXIO || errno == ENODEV)
			return fail_errno(errno, where + "BIOCSETIF (no interface \"" +
							 std::string(ifname) + "\")");
		return sys("BIOCSETIF");
	}
	if (::ioctl(fd, BIOCGBLEN, &blen) < 0)
		return sys("BIOCGBLEN");

	DeviceInfo info{name, 0, options.snap_length, blen, TimestampUnit::nanoseconds};
	unsigned int tstamp = BPF_T_NANOTIME;
	if (::ioctl(fd, BIOCSTSTAMP, &tstamp) < 0)
		info.timestamp_unit = TimestampUnit::microseconds; // an older module: bpf_hdr

	unsigned int on = 1;
	if (options.immediate && ::ioctl(fd, BIOCIMMEDIATE, &on) < 0)
		return sys("BIOCIMMEDIATE");
	if (options.read_timeout.count() > 0) {
		struct timeval tv {};
		tv.tv_sec = options.read_timeout.count() / 1000;
		tv.tv_usec = (options.read_timeout.count() % 1000) * 1000;
		if (::ioctl(fd, BIOCSRTIMEOUT, &tv) < 0)
			return sys("BIOCSRTIMEOUT");
	}
	unsigned int direction = bpf_direction(options.direction);
	if (::ioctl(fd, BIOCSDIRECTION, &direction) < 0)
		return sys("BIOCSDIRECTION");
	if (options.header_complete && ::ioctl(fd, BIOCSHDRCMPLT, &on) < 0)
		return sys("BIOCSHDRCMPLT");
	// Several frames per write() where the module takes macOS's batch
	// (it needs header-complete); an older module: one per write().
	WriteMode write_mode = WriteMode::per_frame;
	int batch = 1;
	if (options.header_complete && ::ioctl(fd, BIOCSBATCHWRITE, &batch) == 0)
		write_mode = WriteMode::batch;
	if (options.promiscuous && ::ioctl(fd, BIOCPROMISC) < 0)
		return sys("BIOCPROMISC");
	unsigned int dlt = 0;
	if (::ioctl(fd, BIOCGDLT, &dlt) < 0)
		return sys("BIOCGDLT");
	info.datalink = static_cast<int>(dlt);
	info.netmask = lookup_netmask(ifname);

	// The filter's return value is the snap length, so a snap length alone
	// needs a one-instruction program.
	std::optional<Filter> filter = options.filter_program;
	if (!options.filter.empty()) {
		auto compiled = Filter::compile(options.filter, info.datalink, options.snap_length, true,
						info.netmask);
		if (!compiled)
			return fail(compiled.error().code, name + ": " + compiled.error().context);
		filter = std::move(*compiled);
	} else if (!filter && options.snap_length < Options::max_snap_length) {
		filter = Filter::accept_all(options.snap_length);
	}
	auto backend = BpfBackend::adopt(std::move(node->fd), std::move(info), write_mode,
					 std::move(source));
	if (!backend)
		return std::unexpected(std::move(backend.error()));

	// Joined while nothing is caught: a member sees only its share.
	if (fanout) {
		struct bpf_fanout fo {fanout->group, fanout->mode};
		if (::ioctl(fd, BIOCSFANOUT, &fo) < 0) {
			if (errno == EINVAL)
				return fail_errno(EINVAL, where + "BIOCSFANOUT (group " +
							  std::to_string(fanout->group) +
							  " has another mode, or the module has no fan-out)");
			return sys("BIOCSFANOUT");
		}
	}
	// Last, the caller's filter (or none) in place of the one that rejects
	// all: capture starts here, with empty buffers and zeroed counters.
	if (filter) {
		if (auto set = (*backend)->set_filter(*filter); !set)
			return std::unexpected(std::move(set.error()));
	} else {
		struct bpf_program none {};
		if (::ioctl(fd, BIOCSETF, &none) < 0)
			return sys("BIOCSETF (no filter)");
	}
	return std::unique_ptr<Backend>(std::move(*backend));
}

} // namespace tap::detail
