// tapdump's savefiles: a nanosecond pcap writer, and tcpdump's rotation
// (-C size, -G seconds, -W file count, -z command) on top of it.
#pragma once

#include <pcap/pcap.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <tap/packet.hpp>

namespace tapdump {

struct PcapCloser {
	void operator()(pcap_t *p) const { pcap_close(p); }
};
struct DumperCloser {
	void operator()(pcap_dumper_t *d) const { pcap_dump_close(d); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;
using Dumper = std::unique_ptr<pcap_dumper_t, DumperCloser>;

// One nanosecond pcap file; dies if it cannot be created. libpcap opens
// it and writes the file header; the records (pcap_dump's layout) are
// gathered here and handed to stdio in large writes, not two locked
// fwrite calls and an ferror per packet.
class Writer {
public:
	Writer(const std::string &path, int datalink, std::uint32_t snap);
	Writer(const Writer &) = delete;
	Writer &operator=(const Writer &) = delete;
	~Writer() { drain(); }
	void write(tap::Timestamp when, std::span<const std::byte> bytes, std::uint32_t wire);
	// Everything written so far out to the file.
	void flush();
	// Bytes in the file including what is not yet written (pcap_dump_ftell).
	std::uint64_t size() const { return size_; }

private:
	static constexpr std::size_t buffer_size = 256 * 1024;
	void drain();

	PcapHandle dead_;
	Dumper dumper_;
	std::vector<std::byte> buf_;
	std::size_t used_ = 0;
	std::uint64_t size_ = 0;
};

struct RotateOptions {
	std::uint64_t max_bytes = 0;         // -C: rotate once the file is larger; 0 never
	std::chrono::seconds interval{0};    // -G: rotate every interval; names via strftime
	unsigned max_files = 0;              // -W: a ring of files (-C), or a limit (-G alone)
	std::string post_command;            // -z: run "command FILE" on each finished file
};

// -C with a tcpdump size: millions of bytes, or a k/m/g suffix (KiB/MiB/GiB).
std::uint64_t parse_file_size(const char *text);

// Files named as tcpdump names them: the -w name (through strftime with -G),
// then with -C or -W a file number, zero-padded to -W's width. The rotation
// clock is the packets' timestamps, so a file read with -r rotates as the
// live capture did.
class RotatingWriter {
public:
	RotatingWriter(std::string pattern, int datalink, std::uint32_t snap, RotateOptions options);
	RotatingWriter(const RotatingWriter &) = delete;
	RotatingWriter &operator=(const RotatingWriter &) = delete;
	~RotatingWriter() { close(); }

	// False, with nothing written, once -G -W's file limit is reached.
	bool write(tap::Timestamp when, std::span<const std::byte> bytes, std::uint32_t wire);
	void flush();
	// Finish the current file (running -z on it) and wait for -z commands.
	void close();
	const std::string &current() const { return current_; }

private:
	std::string make_name(std::time_t when, unsigned number) const;
	void open(std::time_t when, unsigned number);
	void finish();

	std::string pattern_;
	int datalink_;
	std::uint32_t snap_;
	RotateOptions opt_;
	unsigned width_ = 0;       // digits of the file number with -W
	unsigned size_count_ = 0;  // -C files within this -G interval
	unsigned time_count_ = 0;  // -G rotations so far
	std::time_t interval_start_ = 0;
	bool started_ = false, done_ = false;
	std::string current_;
	std::unique_ptr<Writer> file_;
	std::vector<int> children_;
};

} // namespace tapdump
