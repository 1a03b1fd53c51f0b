// Rotation as tcpdump(8) does it (see rotate.hpp), with the -z command also
// run on the last file at exit, so every finished file gets it.
#include "rotate.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "cli.hpp"

namespace tapdump {

Writer::Writer(const std::string &path, int datalink, std::uint32_t snap)
	: dead_(pcap_open_dead_with_tstamp_precision(datalink, static_cast<int>(snap),
						     PCAP_TSTAMP_PRECISION_NANO)),
	  buf_(buffer_size)
{
	if (!dead_)
		tools::die("cannot create a pcap writer for link type " + std::to_string(datalink));
	dumper_.reset(pcap_dump_open(dead_.get(), path.c_str()));
	if (!dumper_)
		tools::die(path + ": " + pcap_geterr(dead_.get()));
	const long header = pcap_dump_ftell(dumper_.get());
	size_ = header > 0 ? static_cast<std::uint64_t>(header) : 0;
}

void Writer::write(tap::Timestamp when, std::span<const std::byte> bytes, std::uint32_t wire)
{
	// struct pcap_sf_pkthdr, as pcap_dump writes it: 32-bit seconds and
	// (in a nanosecond file) nanoseconds, caplen, len, in host order.
	const auto ns = when.time_since_epoch().count();
	const std::uint32_t record[4] = {
		static_cast<std::uint32_t>(ns / 1'000'000'000),
		static_cast<std::uint32_t>(ns % 1'000'000'000),
		static_cast<std::uint32_t>(bytes.size()),
		wire,
	};
	const std::size_t need = sizeof record + bytes.size();
	if (used_ + need > buf_.size()) {
		drain();
		if (need > buf_.size())
			buf_.resize(need); // a frame above 256 KiB (snap length allows 2^18)
	}
	std::memcpy(buf_.data() + used_, record, sizeof record);
	std::memcpy(buf_.data() + used_ + sizeof record, bytes.data(), bytes.size());
	used_ += need;
	size_ += need;
}

void Writer::drain()
{
	if (used_ == 0)
		return;
	// As pcap_dump: once the stream has failed, nothing more is written.
	FILE *f = pcap_dump_file(dumper_.get());
	if (!std::ferror(f))
		(void)std::fwrite(buf_.data(), 1, used_, f);
	used_ = 0;
}

void Writer::flush()
{
	drain();
	pcap_dump_flush(dumper_.get());
}

std::uint64_t parse_file_size(const char *text)
{
	std::string digits(text);
	std::uint64_t unit = 1'000'000; // tcpdump: millions of bytes
	if (!digits.empty()) {
		switch (digits.back()) {
		case 'k': case 'K': unit = 1ULL << 10; digits.pop_back(); break;
		case 'm': case 'M': unit = 1ULL << 20; digits.pop_back(); break;
		case 'g': case 'G': unit = 1ULL << 30; digits.pop_back(); break;
		default: break;
		}
	}
	const auto n = tools::number<std::uint64_t>(digits.c_str(), "file size");
	if (n == 0)
		tools::die(std::string("invalid file size '") + text + "'");
	return n * unit;
}

RotatingWriter::RotatingWriter(std::string pattern, int datalink, std::uint32_t snap,
			       RotateOptions options)
	: pattern_(std::move(pattern)), datalink_(datalink), snap_(snap), opt_(std::move(options))
{
	// tcpdump's getWflagChars: enough digits for the largest number, W-1.
	for (unsigned x = opt_.max_files ? opt_.max_files - 1 : 0; x > 0; x /= 10)
		++width_;
	// Without -G the first file exists even before a packet, as with tcpdump.
	if (opt_.interval.count() == 0)
		open(std::time(nullptr), 0);
}

std::string RotatingWriter::make_name(std::time_t when, unsigned number) const
{
	std::string name = pattern_;
	if (opt_.interval.count() > 0) {
		std::tm tm{};
		localtime_r(&when, &tm);
		char buf[4096];
		const std::size_t n = std::strftime(buf, sizeof(buf), pattern_.c_str(), &tm);
		if (n == 0 && !pattern_.empty())
			tools::die("-w " + pattern_ + ": the strftime name is empty or too long");
		name.assign(buf, n);
	}
	if (opt_.max_bytes == 0)
		return name; // no -C: -W only limits -G's files, it numbers nothing
	// tcpdump's MakeFilename: no number for the first file unless -W gives
	// the number a width (W > 1).
	if (number == 0 && width_ == 0)
		return name;
	char num[32];
	std::snprintf(num, sizeof(num), "%0*u", static_cast<int>(width_), number);
	return name + num;
}

void RotatingWriter::open(std::time_t when, unsigned number)
{
	current_ = make_name(when, number);
	file_ = std::make_unique<Writer>(current_, datalink_, snap_);
	started_ = true;
}

void RotatingWriter::finish()
{
	if (!file_)
		return;
	file_.reset(); // closes and flushes
	if (opt_.post_command.empty())
		return;
	// As tcpdump: the command is a program, run with the file as argument.
	const pid_t pid = fork();
	if (pid == 0) {
		execlp(opt_.post_command.c_str(), opt_.post_command.c_str(), current_.c_str(),
		       static_cast<char *>(nullptr));
		std::fprintf(stderr, "tapdump: -z %s: %s\n", opt_.post_command.c_str(), std::strerror(errno));
		_exit(127);
	}
	if (pid > 0)
		children_.push_back(pid);
	else
		std::fprintf(stderr, "tapdump: -z: fork: %s\n", std::strerror(errno));
}

bool RotatingWriter::write(tap::Timestamp when, std::span<const std::byte> bytes, std::uint32_t wire)
{
	if (done_)
		return false;
	const std::time_t t = static_cast<std::time_t>(
		std::chrono::duration_cast<std::chrono::seconds>(when.time_since_epoch()).count());
	if (opt_.interval.count() > 0) {
		if (!started_) {
			interval_start_ = t;
			open(t, 0);
		} else if (t - interval_start_ >= opt_.interval.count()) {
			if (opt_.max_files && ++time_count_ >= opt_.max_files) {
				done_ = true; // tcpdump exits here: the limit of files
				finish();
				return false;
			}
			finish();
			interval_start_ = t;
			size_count_ = 0;
			open(t, 0);
		}
	}
	// Before writing: a file already larger than -C is closed first, so a
	// packet is never split from its file or written twice.
	if (opt_.max_bytes && file_ && file_->size() > opt_.max_bytes) {
		finish();
		++size_count_;
		if (opt_.max_files && size_count_ >= opt_.max_files)
			size_count_ = 0; // the ring: overwrite the first file
		open(interval_start_ ? interval_start_ : t, size_count_);
	}
	file_->write(when, bytes, wire);
	return true;
}

void RotatingWriter::flush()
{
	if (file_)
		file_->flush();
}

void RotatingWriter::close()
{
	finish();
	for (int pid : children_) {
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
		}
	}
	children_.clear();
}

} // namespace tapdump
